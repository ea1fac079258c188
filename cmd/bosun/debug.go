package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/spf13/pflag"
)

// debugOptions is the opt-in profiling endpoint of the daemons: net/http/pprof on a loopback
// address, off unless --debug-listen is given. It serves no API and needs no token, which is
// why it refuses any address but a loopback one.
type debugOptions struct {
	DebugListen string
}

func (o *debugOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DebugListen, "debug-listen", "", "serve Go's pprof profiles on this loopback address (127.0.0.1:6060); empty: off")
}

// start listens and serves /debug/pprof/ until ctx ends; nothing when the flag is empty.
// The returned function waits for the server to stop.
func (o *debugOptions) start(ctx context.Context, log *slog.Logger) (wait func(), err error) {
	if o.DebugListen == "" {
		return func() {}, nil
	}
	host, _, err := net.SplitHostPort(o.DebugListen)
	if err != nil {
		return nil, fmt.Errorf("--debug-listen %q: %w", o.DebugListen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--debug-listen %q: only a loopback address (127.0.0.1, ::1, localhost) may serve profiles", o.DebugListen)
	}
	ln, err := net.Listen("tcp", o.DebugListen)
	if err != nil {
		return nil, fmt.Errorf("--debug-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug endpoint stopped", "err", err)
		}
	}()
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	log.Info("debug endpoint serving profiles", "addr", ln.Addr().String())
	return func() {
		stop()
		srv.Close()
		<-done
	}, nil
}
