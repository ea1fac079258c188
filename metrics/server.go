package metrics

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TokenFile is the name of the token a relay or an agent creates in its data directory.
const TokenFile = "metrics.token"

// ErrNoToken is returned for a token file that holds no token.
var ErrNoToken = errors.New("no metrics token")

// LoadOrCreateToken returns the bearer token held in path, creating the file (mode 0600,
// 32 random bytes) when it does not exist, so that a scraper can be given the file.
func LoadOrCreateToken(path string) (string, error) {
	tok, err := ReadToken(path)
	if !errors.Is(err, os.ErrNotExist) {
		return tok, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("metrics token: %w", err)
	}
	tok = base64.RawURLEncoding.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return ReadToken(path) // another process made it first
	}
	if err != nil {
		return "", fmt.Errorf("create metrics token %s: %w", path, err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write metrics token %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write metrics token %s: %w", path, err)
	}
	return tok, nil
}

// maxTokenFile bounds what ReadToken reads: a token is a line, and a path naming a log or
// /dev/zero by mistake must not fill the memory of the process at start-up.
const maxTokenFile = 4 << 10

// ErrTokenTooLarge is returned for a token file larger than a token can be.
var ErrTokenTooLarge = errors.New("metrics token file too large")

// TokenOf returns the bearer token scrapers must send to a relay or an agent: the one in
// file when the operator named one (never created: a missing file is an error), else the one
// kept in dataDir's TokenFile, made at first start.
func TokenOf(file, dataDir string) (string, error) {
	if file != "" {
		return ReadToken(file)
	}
	return LoadOrCreateToken(filepath.Join(dataDir, TokenFile))
}

// ReadToken returns the token held in path, without surrounding white space.
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read metrics token: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("read metrics token: %w", err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("%w: %s holds more than %d bytes; name a file holding the token alone", ErrTokenTooLarge, path, maxTokenFile)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%w in %s", ErrNoToken, path)
	}
	return tok, nil
}

// RequireToken serves h only to requests that carry token as their bearer token; the
// comparison takes the same time whatever the guess.
func RequireToken(token string, h http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bosun metrics"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Server serves a registry at /metrics on a listener of its own, behind a token: the relay's
// and the agent's endpoint.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds addr; the server serves nothing until Run.
func Listen(addr string, reg *Registry, token string, log *slog.Logger) (*Server, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", RequireToken(token, reg.Handler()))
	// The endpoint is open to anyone who can reach it until the token is checked: bound what
	// a client that sends no request, or a huge header, can hold.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return &Server{ln: ln, srv: srv}, nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx ends, then stops within a few seconds.
func (s *Server) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(s.ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(shutdown)
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

// Close releases the listener. Idempotent.
func (s *Server) Close() error {
	err := s.srv.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
