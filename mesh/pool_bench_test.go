//go:build linux || darwin

package mesh

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// BenchmarkZoneDeadDetection measures how long the relay of a zone pool takes to learn
// that a member crashed (closed without Leave): the first half of what the root waits for
// before it shows a node as not answering, the other half being one QUIC message from the
// relay. Every member is a real memberlist instance with ProfileLAN timers and an AES-256
// key, all in this process on 127.0.0.1, so the members share this machine's cores: at a
// few hundred members the CPU saturates and the figures grow for that reason alone.
//
// Sizes default to 100 members (make bench); BOSUN_BENCH_ZONE_SIZES=50,100,200 picks
// others, BOSUN_BENCH_ZONE_KILLS (default 5) how many members are killed one after the
// other in each zone. Metrics: s/converge (until every member sees every other), s/relay
// (median time from kill to the relay's dead event), s/relay-max, s/all (median time until
// every survivor shows it dead), cores (CPU used during the kills, in cores) and
// false-deaths (live members the relay declared dead during the kills: a sign that the
// process is saturated, not the network).
func BenchmarkZoneDeadDetection(b *testing.B) {
	sizes := []int{100}
	if s := os.Getenv("BOSUN_BENCH_ZONE_SIZES"); s != "" {
		sizes = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 5 {
				b.Fatalf("BOSUN_BENCH_ZONE_SIZES: %q is not a size of at least 5", f)
			}
			sizes = append(sizes, n)
		}
	}
	kills := 5
	if s := os.Getenv("BOSUN_BENCH_ZONE_KILLS"); s != "" {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 {
			b.Fatalf("BOSUN_BENCH_ZONE_KILLS: %q is not a positive count", s)
		}
		kills = k
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) { benchZone(b, n, kills) })
	}
}

// deadClock records when the relay's Events channel last reported each member dead, and
// how many times it did so in all: more deaths than kills are false alarms.
type deadClock struct {
	mu    sync.Mutex
	dead  map[string]time.Time
	count int
}

func (c *deadClock) at(id string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.dead[id]
	return t, ok
}

func benchZone(b *testing.B, n, kills int) {
	if kills > n-4 {
		kills = n - 4
	}
	key := make([]byte, 32)
	key[0] = 7
	pools := make([]*Pool, n)
	for i := range pools {
		role := wire.RoleAgent
		if i == 0 {
			role = wire.RoleRelay
		}
		p, err := NewPool(PoolConfig{
			Zone:     "bench",
			NodeID:   fmt.Sprintf("node-%04d", i),
			Role:     role,
			BindAddr: "127.0.0.1:0",
			Keyring:  [][]byte{key},
			Profile:  ProfileLAN,
			Meta:     []byte("127.0.0.1:6710"),
		})
		if err != nil {
			b.Fatal(err)
		}
		pools[i] = p
	}
	defer func() {
		var wg sync.WaitGroup
		for _, p := range pools {
			wg.Go(func() { p.Close() })
		}
		wg.Wait()
	}()
	relay := pools[0]
	clock := &deadClock{dead: make(map[string]time.Time)}
	go func() {
		for e := range relay.Events() {
			if e.Kind == EventDead {
				clock.mu.Lock()
				clock.dead[e.Member.NodeID] = time.Now()
				clock.count++
				clock.mu.Unlock()
			}
		}
	}()

	// Join as DEPS.md §4 advises: three seeds, eight joins at a time rather than all at once.
	start := time.Now()
	seeds := []string{pools[0].Addr(), pools[1].Addr(), pools[2].Addr()}
	if _, err := pools[1].Join(context.Background(), seeds[:1]); err != nil {
		b.Fatal(err)
	}
	if _, err := pools[2].Join(context.Background(), seeds[:2]); err != nil {
		b.Fatal(err)
	}
	work := make(chan *Pool)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for p := range work {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if _, err := p.Join(ctx, seeds); err != nil {
					b.Errorf("%s joins: %v", p.cfg.NodeID, err)
				}
				cancel()
			}
		})
	}
	for _, p := range pools[3:] {
		work <- p
	}
	close(work)
	wg.Wait()
	converged := waitFor(3*time.Minute, func() bool {
		for _, p := range pools {
			if p.countAlive() != n {
				return false
			}
		}
		return true
	})
	if !converged {
		least := n
		for _, p := range pools {
			least = min(least, p.countAlive())
		}
		b.Fatalf("%d members: not converged after 3 min (the member seeing fewest sees %d)", n, least)
	}
	convergence := time.Since(start)

	var toRelay, toAll []time.Duration
	clock.mu.Lock()
	falseBefore := clock.count
	clock.mu.Unlock()
	cpu0, wall0 := cpuTime(), time.Now()
	for b.Loop() {
		// Kill members that are neither the relay nor seeds, one after the other.
		for k := range kills {
			victim := pools[n-1-k]
			id := victim.cfg.NodeID
			killed := time.Now()
			victim.Close()
			survivors := pools[:n-1-k]
			if !waitFor(2*time.Minute, func() bool { t, ok := clock.at(id); return ok && t.After(killed) }) {
				b.Fatalf("%d members: relay did not declare %s dead within 2 min", n, id)
			}
			seen, _ := clock.at(id)
			toRelay = append(toRelay, seen.Sub(killed))
			if !waitFor(2*time.Minute, func() bool {
				for _, p := range survivors {
					if m, _ := p.Member(id); m.State != MemberDead {
						return false
					}
				}
				return true
			}) {
				b.Fatalf("%d members: not every survivor declared %s dead within 2 min", n, id)
			}
			toAll = append(toAll, time.Since(killed))
		}
	}
	cores := (cpuTime() - cpu0).Seconds() / time.Since(wall0).Seconds()
	clock.mu.Lock()
	falseDeaths := clock.count - falseBefore - len(toRelay)
	clock.mu.Unlock()
	slices.Sort(toRelay)
	slices.Sort(toAll)
	b.ReportMetric(convergence.Seconds(), "s/converge")
	b.ReportMetric(toRelay[len(toRelay)/2].Seconds(), "s/relay")
	b.ReportMetric(toRelay[len(toRelay)-1].Seconds(), "s/relay-max")
	b.ReportMetric(toAll[len(toAll)/2].Seconds(), "s/all")
	b.ReportMetric(cores, "cores")
	b.ReportMetric(float64(falseDeaths), "false-deaths")
	b.Logf("%d members: converged in %v; relay learned deaths in %v; all survivors in %v; %.2f cores; "+
		"%d live members declared dead by the relay while joining, %d while killing",
		n, convergence.Round(time.Millisecond), roundAll(toRelay), roundAll(toAll), cores, falseBefore, falseDeaths)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// cpuTime is the CPU this process used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(10 * time.Millisecond)
	}
	return out
}
