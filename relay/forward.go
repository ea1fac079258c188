package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// idlePoll is how often an idle forwarder looks at the queue without being woken, so that
// nothing waits on a lost wake-up.
const idlePoll = 5 * time.Second

// forward drains the queue upstream until ctx ends: enrol the relay itself, then send the
// oldest items in batches, deleting them only once the upstream acknowledged them.
func (r *Relay) forward(ctx context.Context) {
	backoff := r.cfg.MinBackoff
	enrolled := false
	for ctx.Err() == nil {
		var err error
		var retryAfter time.Duration
		var progressed bool
		if !enrolled {
			err = r.enrolSelf(ctx)
			enrolled = err == nil
			progressed = enrolled
		} else {
			progressed, retryAfter, err = r.sendBatch(ctx)
		}
		var nack *wire.NackError
		switch {
		case err != nil && !errors.As(err, &nack):
			r.setUpstream(false, err)
		case progressed:
			r.setUpstream(true, nil)
		}
		switch {
		case err != nil:
			r.log.Warn("upstream unavailable", "upstream", r.cfg.Upstream, "err", err, "retry_in", backoff)
			sleep(ctx, jitter(max(backoff, retryAfter)))
			backoff = min(backoff*2, r.cfg.MaxBackoff)
		case progressed:
			backoff = r.cfg.MinBackoff
			runtime.Gosched()
		default:
			select {
			case <-ctx.Done():
			case <-r.queued:
			case <-time.After(idlePoll):
			}
		}
	}
}

// enrolSelf introduces the relay to its upstream. It runs at every start, which also keeps
// the relay's facts at the root fresh.
func (r *Relay) enrolSelf(ctx context.Context) error {
	e := wire.NewEnrol(wire.EnrolStub{
		NodeID: r.id.NodeID, Hostname: hostname(), OS: runtime.GOOS, PolicyServer: r.cfg.Upstream,
		SoftwareVersion: r.cfg.SoftwareVersion, Role: wire.RoleRelay, Time: r.cfg.Now().UTC(),
	}, r.id.Key)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.UpstreamTimeout)
	defer cancel()
	reply, _, err := r.client.Exchange(ctx, r.cfg.Upstream, e)
	if err != nil {
		return fmt.Errorf("enrol with upstream: %w", err)
	}
	ack, ok := reply.(*wire.Ack)
	if !ok {
		return fmt.Errorf("enrol with upstream: answered with %v", reply.Type())
	}
	if err := ack.Err(); err != nil {
		return fmt.Errorf("enrol with upstream: %w", err)
	}
	r.log.Info("relay enrolled upstream", "upstream", r.cfg.Upstream, "status", ack.NodeStatus)
	return nil
}

// sendBatch sends the oldest queued items and deletes what the upstream acknowledged.
func (r *Relay) sendBatch(ctx context.Context) (progressed bool, retryAfter time.Duration, err error) {
	recs, err := r.queue.Peek(r.cfg.BatchSize)
	if err != nil {
		return false, 0, fmt.Errorf("read queue: %w", err)
	}
	if len(recs) == 0 {
		return false, 0, nil
	}
	f := &wire.Forward{Items: make([]wire.Forwarded, 0, len(recs))}
	for _, rec := range recs {
		var it wire.Forwarded
		if err := it.UnmarshalBinary(rec.Data); err != nil {
			// The store checksums records, so this is a bug or a format change; dropping
			// the item would lose it, and keeping it would block the queue forever.
			return false, 0, fmt.Errorf("queued item %d: %w", rec.Seq, err)
		}
		it.Seq = rec.Seq
		f.Items = append(f.Items, it)
	}
	ectx, cancel := context.WithTimeout(ctx, r.cfg.UpstreamTimeout)
	defer cancel()
	reply, _, err := r.client.Exchange(ectx, r.cfg.Upstream, f)
	if err != nil {
		return false, 0, err
	}
	ack, ok := reply.(*wire.Ack)
	if !ok {
		return false, 0, fmt.Errorf("forward: answered with %v", reply.Type())
	}
	if ack.Seq > 0 {
		for i, rec := range recs {
			if rec.Seq <= ack.Seq {
				r.link.forwarded.Add(1)
				r.metrics.forwarded.count(f.Items[i].Frame)
			}
		}
		if ack.Seq > recs[len(recs)-1].Seq {
			return false, 0, fmt.Errorf("upstream acknowledged item %d, beyond the %d sent", ack.Seq, recs[len(recs)-1].Seq)
		}
		if err := r.queue.Ack(ack.Seq); err != nil {
			return false, 0, fmt.Errorf("delete acknowledged items: %w", err)
		}
	}
	if err := ack.Err(); err != nil {
		var nack *wire.NackError
		if errors.As(err, &nack) {
			retryAfter = nack.Ack.RetryAfter
		}
		return ack.Seq > 0, retryAfter, fmt.Errorf("forward: %w", err)
	}
	r.log.Debug("forwarded", "items", len(recs), "acked", ack.Seq)
	return true, 0, nil
}

func jitter(d time.Duration) time.Duration {
	// ±20 % spreads the reconnections of relays that lost the same link at the same time.
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
