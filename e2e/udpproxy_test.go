package e2e

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// udpProxy sits between a relay and its upstream on loopback and can cut the link, drop a
// share of the packets, or delay them, in both directions: how link loss is made without
// touching the machine's network.
type udpProxy struct {
	t        *testing.T
	ln       *net.UDPConn
	target   *net.UDPAddr
	cut      atomic.Bool
	dropPerM atomic.Int64 // packets dropped per million
	delay    atomic.Int64 // nanoseconds
	mu       sync.Mutex
	flows    map[string]*net.UDPConn // client address → socket towards the target
	wg       sync.WaitGroup
	closed   chan struct{}
	packets  atomic.Int64
	dropped  atomic.Int64
}

func newUDPProxy(t *testing.T, target string) *udpProxy {
	t.Helper()
	ta, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &udpProxy{t: t, ln: ln, target: ta, flows: map[string]*net.UDPConn{}, closed: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *udpProxy) addr() string { return p.ln.LocalAddr().String() }

// setCut cuts the link (every packet dropped) or restores it.
func (p *udpProxy) setCut(cut bool) { p.cut.Store(cut) }

// setLoss drops the given share of packets (0 to 1) and delays the others.
func (p *udpProxy) setLoss(share float64, delay time.Duration) {
	p.dropPerM.Store(int64(share * 1e6))
	p.delay.Store(int64(delay))
}

func (p *udpProxy) pass() bool {
	p.packets.Add(1)
	if p.cut.Load() || rand.Int64N(1e6) < p.dropPerM.Load() {
		p.dropped.Add(1)
		return false
	}
	return true
}

func (p *udpProxy) send(write func() error) {
	d := time.Duration(p.delay.Load())
	if d == 0 {
		_ = write()
		return
	}
	time.AfterFunc(d, func() { _ = write() })
}

func (p *udpProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := p.ln.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if !p.pass() {
			continue
		}
		up := p.flow(from)
		if up == nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		p.send(func() error { _, err := up.Write(pkt); return err })
	}
}

// flow returns the socket that carries from's packets to the target, starting the goroutine
// that carries the answers back.
func (p *udpProxy) flow(from *net.UDPAddr) *net.UDPConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		return nil
	default:
	}
	if c, ok := p.flows[from.String()]; ok {
		return c
	}
	up, err := net.DialUDP("udp", nil, p.target)
	if err != nil {
		p.t.Errorf("proxy: %v", err)
		return nil
	}
	p.flows[from.String()] = up
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := up.Read(buf)
			if err != nil {
				select {
				case <-p.closed:
					return
				default:
				}
				// The target is down (ICMP unreachable): keep the flow for when it returns.
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if !p.pass() {
				continue
			}
			pkt := append([]byte(nil), buf[:n]...)
			p.send(func() error { _, err := p.ln.WriteToUDP(pkt, from); return err })
		}
	}()
	return up
}

func (p *udpProxy) close() {
	p.mu.Lock()
	select {
	case <-p.closed:
		p.mu.Unlock()
		return
	default:
	}
	close(p.closed)
	p.ln.Close()
	for _, c := range p.flows {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
