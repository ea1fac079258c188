package wire

import (
	"fmt"
	"time"
)

// AckStatus says what became of a request.
type AckStatus uint8

const (
	// AckOK: done. For anything a relay spools, done means durable.
	AckOK AckStatus = 1
	// AckRetryLater: not taken now (a full queue, a budget reached); the sender keeps what it
	// sent and tries again after RetryAfter.
	AckRetryLater AckStatus = 2
	// AckRejected: will never be taken as it is (a refused key, a bad signature); the reason
	// says why. Resending the same thing is pointless.
	AckRejected AckStatus = 3
	// AckError: the request could not be understood or processed.
	AckError AckStatus = 4
)

func (s AckStatus) String() string {
	switch s {
	case AckOK:
		return "ok"
	case AckRetryLater:
		return "retry-later"
	case AckRejected:
		return "rejected"
	case AckError:
		return "error"
	}
	return fmt.Sprintf("ack(%d)", uint8(s))
}

// Ack answers a request that needs no richer reply.
type Ack struct {
	Status     AckStatus
	Reason     string
	RetryAfter time.Duration
	// Seq acknowledges every forwarded item up to and including this sequence number.
	Seq uint64
	// NodeStatus tells a node how the root sees it (pending, accepted, ...), where known.
	NodeStatus string
}

func init() { register(TypeAck, func() Message { return new(Ack) }) }

func (*Ack) Type() Type { return TypeAck }

func (a *Ack) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, byte(a.Status))
	b = appendString(b, a.Reason)
	b = appendUvarint(b, uint64(a.RetryAfter))
	b = appendUvarint(b, a.Seq)
	return appendString(b, a.NodeStatus), nil
}

func (a *Ack) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	*a = Ack{
		Status:     AckStatus(d.byte("status")),
		Reason:     d.string("reason", maxReasonLen),
		RetryAfter: time.Duration(d.uvarint("retry after")),
		Seq:        d.uvarint("seq"),
		NodeStatus: d.string("node status", maxNameLen),
	}
	if d.err == nil && (a.Status < AckOK || a.Status > AckError) {
		d.fail(fmt.Sprintf("ack status %d", a.Status))
	}
	if a.RetryAfter < 0 {
		d.fail("retry after")
	}
	return d.err
}

// Err turns an Ack that is not OK into an error the caller can test with errors.As.
func (a *Ack) Err() error {
	if a.Status == AckOK {
		return nil
	}
	return &NackError{Ack: *a}
}

// NackError is an Ack that said anything but OK.
type NackError struct{ Ack Ack }

func (e *NackError) Error() string {
	if e.Ack.RetryAfter > 0 {
		return fmt.Sprintf("%v: %s (retry after %v)", e.Ack.Status, e.Ack.Reason, e.Ack.RetryAfter)
	}
	return fmt.Sprintf("%v: %s", e.Ack.Status, e.Ack.Reason)
}
