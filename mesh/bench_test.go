package mesh

import (
	"context"
	"testing"

	"github.com/bosun-io/bosun/wire"
)

// BenchmarkExchange measures one request and reply on an established connection.
func BenchmarkExchange(b *testing.B) {
	srv, cl := benchPair(b)
	ctx := context.Background()
	req := &wire.Ack{Status: wire.AckOK, Reason: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := cl.Exchange(ctx, srv.Addr().String(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchangeParallel measures exchanges multiplexed on one connection, 16 in flight
// per CPU.
func BenchmarkExchangeParallel(b *testing.B) {
	srv, cl := benchPair(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		req := &wire.Ack{Status: wire.AckOK, Reason: "bench"}
		for pb.Next() {
			if _, _, err := cl.Exchange(ctx, srv.Addr().String(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDial measures a fresh connection: dial, handshake with certificate checks, and
// one exchange.
func BenchmarkDial(b *testing.B) {
	srv, _ := benchPair(b)
	id, _, err := LoadOrCreateIdentity(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := &wire.Ack{Status: wire.AckOK}
	for b.Loop() {
		cl, err := NewClient(ClientConfig{Identity: id})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := cl.Exchange(ctx, srv.Addr().String(), req); err != nil {
			b.Fatal(err)
		}
		cl.Close()
	}
}

func benchPair(b *testing.B) (*Server, *Client) {
	b.Helper()
	sid, _, err := LoadOrCreateIdentity(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	cid, _, err := LoadOrCreateIdentity(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	srv, err := Listen(ServerConfig{Identity: sid, Addr: "127.0.0.1:0", Handler: echo{sid}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	cl, err := NewClient(ClientConfig{Identity: cid})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cl.Close()
		cancel()
		<-done
		srv.Close()
	})
	return srv, cl
}
