package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// RelayStatsBody is how a relay's queue and uplink fare, as the relay signs it.
type RelayStatsBody struct {
	RelayID        string
	Time           time.Time
	QueueDepth     uint64
	QueueBytes     uint64
	OldestQueued   time.Time // zero when the queue is empty
	BytesSent      uint64    // to the upstream since the relay started
	BytesReceived  uint64    // from nodes and relays below since the relay started
	Forwarded      uint64    // items the upstream acknowledged since the relay started
	UpstreamUp     bool
	UpstreamSince  time.Time // when the upstream last changed state
	UpstreamError  string    // why it is down
	CachedPolicies uint64
	// Zone, GossipAddr and QUICAddr tell the root where the relay's zone can reach it.
	Zone       string
	GossipAddr string
	QUICAddr   string
}

const relayStatsDomain = "relay-stats"

// RelayStats carries a signed RelayStatsBody up through the relays above, as a Proxy.
type RelayStats struct {
	Signed Signed
}

func init() { register(TypeRelayStats, func() Message { return new(RelayStats) }) }

func (*RelayStats) Type() Type { return TypeRelayStats }

func (s *RelayStats) AppendBinary(b []byte) ([]byte, error) { return s.Signed.append(b), nil }

func (s *RelayStats) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	s.Signed.decode(&d, 8192)
	return d.err
}

// NewRelayStats signs the relay's figures.
func NewRelayStats(body RelayStatsBody, key ed25519.PrivateKey) *RelayStats {
	b := appendString(nil, body.RelayID)
	b = appendTime(b, body.Time)
	b = appendUvarint(b, body.QueueDepth)
	b = appendUvarint(b, body.QueueBytes)
	b = appendTime(b, body.OldestQueued)
	b = appendUvarint(b, body.BytesSent)
	b = appendUvarint(b, body.BytesReceived)
	b = appendUvarint(b, body.Forwarded)
	b = appendBool(b, body.UpstreamUp)
	b = appendTime(b, body.UpstreamSince)
	b = appendString(b, body.UpstreamError)
	b = appendUvarint(b, body.CachedPolicies)
	b = appendString(b, body.Zone)
	b = appendString(b, body.GossipAddr)
	b = appendString(b, body.QUICAddr)
	return &RelayStats{Signed: Sign(relayStatsDomain, b, key)}
}

// Peek decodes the body without checking the signature.
func (s *RelayStats) Peek() (RelayStatsBody, error) {
	d := decoder{b: s.Signed.Body}
	body := RelayStatsBody{
		RelayID:        d.string("relay id", maxIDLen),
		Time:           d.time("time"),
		QueueDepth:     d.uvarint("queue depth"),
		QueueBytes:     d.uvarint("queue bytes"),
		OldestQueued:   d.time("oldest queued"),
		BytesSent:      d.uvarint("bytes sent"),
		BytesReceived:  d.uvarint("bytes received"),
		Forwarded:      d.uvarint("forwarded"),
		UpstreamUp:     d.bool("upstream up"),
		UpstreamSince:  d.time("upstream since"),
		UpstreamError:  d.string("upstream error", maxReasonLen),
		CachedPolicies: d.uvarint("cached policies"),
		Zone:           d.string("zone", maxNameLen),
		GossipAddr:     d.string("gossip address", maxNameLen),
		QUICAddr:       d.string("quic address", maxNameLen),
	}
	if d.err == nil && body.RelayID == "" {
		d.fail("relay stats name no relay")
	}
	if d.err != nil {
		return RelayStatsBody{}, fmt.Errorf("relay stats: %w", d.err)
	}
	return body, nil
}

// Verify checks the signature against the relay's pinned key.
func (s *RelayStats) Verify(pub ed25519.PublicKey) error {
	return s.Signed.Verify(relayStatsDomain, pub)
}
