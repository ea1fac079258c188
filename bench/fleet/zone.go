package fleet

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/wire"
)

// Limits of a zone's traffic to its relay.
const (
	// forwardBatch is the most items one Forward carries to the relay; a relay's own
	// upstream batches are 512.
	forwardBatch = 1024
	// flushEvery is how long an item may wait for others before its batch goes; it is
	// part of the end-to-end latency, as a relay below would add its own.
	flushEvery = 25 * time.Millisecond
	// asksPerZone bounds the status and policy requests a zone has in flight.
	asksPerZone = 16
)

// zone is one simulated relay below a real one: it carries its nodes' signed frames to the
// relay in Forward batches, as a relay below would, and their requests as Proxies.
type zone struct {
	index int
	id    *mesh.Identity
	addr  string // the real relay's QUIC address
	cl    *mesh.Client
	nodes []*simNode
	asks  chan struct{} // semaphore of requests in flight

	mu      sync.Mutex
	queue   []wire.Forwarded // sent or not, until the relay acknowledges
	nextSeq uint64
	wake    chan struct{}

	itemsAcked   atomic.Uint64
	forwardBytes atomic.Uint64 // Forward frames sent to the relay, resends included
	askBytes     atomic.Uint64 // Proxy frames sent to the relay
	asked        atomic.Uint64
	queuedBytes  atomic.Uint64 // frames of the nodes (what agents would send)
	retries      atomic.Uint64
	askErrors    atomic.Uint64
	lastErr      atomic.Pointer[string]
}

func newZone(index int, seed uint64, relayAddr string) (*zone, error) {
	var s [32]byte
	binary.BigEndian.PutUint64(s[:], seed)
	binary.BigEndian.PutUint64(s[8:], uint64(index))
	copy(s[16:], "zone")
	h := sha256.Sum256(s[:])
	key := ed25519.NewKeyFromSeed(h[:])
	id := &mesh.Identity{NodeID: uuidOf(append([]byte("zone"), key.Public().(ed25519.PublicKey)...)), Key: key}
	cl, err := mesh.NewClient(mesh.ClientConfig{Identity: id, DialTimeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	return &zone{index: index, id: id, addr: relayAddr, cl: cl, asks: make(chan struct{}, asksPerZone), wake: make(chan struct{}, 1)}, nil
}

func (z *zone) close() { z.cl.Close() }

// enrolSelf enrols the zone with its relay as a relay, as a relay below would.
func (z *zone) enrolSelf(ctx context.Context) error {
	e := wire.NewEnrol(wire.EnrolStub{NodeID: z.id.NodeID, Hostname: fmt.Sprintf("sim-zone-%02d", z.index), OS: runtime.GOOS,
		PolicyServer: z.addr, SoftwareVersion: "sim", Role: wire.RoleRelay, Time: time.Now().UTC()}, z.id.Key)
	reply, _, err := z.cl.Exchange(ctx, z.addr, e)
	if err != nil {
		return fmt.Errorf("zone %d: enrol: %w", z.index, err)
	}
	if ack, ok := reply.(*wire.Ack); !ok || ack.Err() != nil {
		return fmt.Errorf("zone %d: enrol answered %v", z.index, reply)
	}
	return nil
}

// push queues a node's frame for the relay.
func (z *zone) push(m wire.Message) error {
	frame, err := wire.AppendFrame(nil, m)
	if err != nil {
		return err
	}
	z.queuedBytes.Add(uint64(len(frame)))
	z.mu.Lock()
	z.nextSeq++
	z.queue = append(z.queue, wire.Forwarded{Seq: z.nextSeq, Path: []string{z.id.NodeID}, Received: time.Now().UTC(), Frame: frame})
	n := len(z.queue)
	z.mu.Unlock()
	if n >= forwardBatch {
		select {
		case z.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// depth is the items not yet acknowledged by the relay.
func (z *zone) depth() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return len(z.queue)
}

// send forwards the queue to the relay until ctx ends, in order, dropping what the relay
// acknowledged.
func (z *zone) send(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for ctx.Err() == nil {
		z.mu.Lock()
		items := z.queue[:min(len(z.queue), forwardBatch)]
		z.mu.Unlock()
		if len(items) == 0 {
			select {
			case <-ctx.Done():
			case <-t.C:
			case <-z.wake:
			}
			continue
		}
		payload, err := (&wire.Forward{Items: items}).AppendBinary(nil)
		if err != nil {
			msg := err.Error()
			z.lastErr.Store(&msg)
			return
		}
		z.forwardBytes.Add(uint64(len(payload) + 8))
		ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
		reply, _, err := z.cl.Exchange(ectx, z.addr, encoded{wire.TypeForward, payload})
		cancel()
		var ack *wire.Ack
		if err == nil {
			var ok bool
			if ack, ok = reply.(*wire.Ack); !ok {
				err = fmt.Errorf("forward answered with %v", reply.Type())
			}
		}
		if err == nil && ack.Seq > 0 {
			z.mu.Lock()
			k := 0
			for k < len(z.queue) && z.queue[k].Seq <= ack.Seq {
				k++
			}
			z.queue = append(z.queue[:0:0], z.queue[k:]...)
			z.mu.Unlock()
			z.itemsAcked.Add(uint64(k))
		}
		if err == nil {
			err = ack.Err()
		}
		if err != nil {
			z.retries.Add(1)
			msg := err.Error()
			z.lastErr.Store(&msg)
			wait := 200 * time.Millisecond
			var nack *wire.NackError
			if errors.As(err, &nack) && nack.Ack.RetryAfter > 0 {
				wait = min(nack.Ack.RetryAfter, 2*time.Second)
			}
			sleep(ctx, wait)
			continue
		}
		if len(items) < forwardBatch {
			// A full batch goes at once; a partial one waits for more.
			select {
			case <-ctx.Done():
			case <-t.C:
			case <-z.wake:
			}
		}
	}
}

// ask passes a node's request to the root through the relay and returns the answer, with
// the bytes it cost on the zone's link (request and reply frames).
func (z *zone) ask(ctx context.Context, req wire.Message) (wire.Message, int, error) {
	frame, err := wire.AppendFrame(nil, req)
	if err != nil {
		return nil, 0, err
	}
	p := &wire.Proxy{Path: []string{z.id.NodeID}, Frame: frame}
	z.asked.Add(1)
	z.askBytes.Add(uint64(len(frame) + len(z.id.NodeID) + 8))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	reply, _, err := z.cl.Exchange(ctx, z.addr, p)
	cost := len(frame)
	if err == nil {
		if b, err := wire.AppendFrame(nil, reply); err == nil {
			cost += len(b)
		}
	}
	if err != nil {
		z.askErrors.Add(1)
		return nil, cost, err
	}
	if ack, ok := reply.(*wire.Ack); ok && ack.Err() != nil {
		z.askErrors.Add(1)
		return nil, cost, ack.Err()
	}
	return reply, cost, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// encoded is a message already encoded, so that the zone knows the size of what it sends
// without encoding (and compressing) a batch twice.
type encoded struct {
	t       wire.Type
	payload []byte
}

func (e encoded) Type() wire.Type                       { return e.t }
func (e encoded) AppendBinary(b []byte) ([]byte, error) { return append(b, e.payload...), nil }
func (e encoded) UnmarshalBinary([]byte) error          { return errors.New("encoded: not for decoding") }
