package mesh

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bosun-io/bosun/wire"
	"github.com/quic-go/quic-go"
)

// DefaultPort is the UDP port a policy server listens on unless told otherwise.
const DefaultPort = 6710

// Server defaults; see ServerConfig.
const (
	DefaultServerIdleTimeout  = 60 * time.Second
	DefaultMaxStreamsPerConn  = 100
	DefaultStreamIdleTimeout  = 30 * time.Second
	defaultHandshakeTimeout   = 10 * time.Second
	replyChunk                = 64 << 10
	frameHeaderSlack          = 2 * 10 // two uvarints
	initialStreamWindow       = 64 << 10
	maxStreamWindow           = 2 << 20
	initialConnectionWindow   = 256 << 10
	maxConnectionWindow       = 8 << 20
	statelessResetKeyLabel    = "bosun/mesh stateless reset key v1\x00"
	streamErrorCanceled       = quic.StreamErrorCode(0x10) // the exchange was abandoned
	streamErrorRefused        = quic.StreamErrorCode(0x11) // the request was refused unread
	streamErrorTrailing       = quic.StreamErrorCode(0x12) // data after the one message
	connErrorShutdown         = quic.ApplicationErrorCode(0x1)
	connErrorProtocol         = quic.ApplicationErrorCode(0x2)
	connErrorClientClosed     = quic.ApplicationErrorCode(0x3)
	connErrorShutdownMessage  = "server shutting down"
	connErrorClientMessage    = "client closed"
	connErrorProtocolMessage  = "protocol violation"
	maxRequestUnknownSkipping = 1 << 20 // bytes of unknown frames a request may carry before its message
)

// Handler answers exchanges. ServeExchange is called once per request, concurrently, with
// the peer the handshake proved; ctx ends when the peer goes away or the server stops. A nil
// reply is answered with an error Ack. A panic is recovered, logged and answered the same.
type Handler interface {
	ServeExchange(ctx context.Context, peer Peer, req wire.Message) wire.Message
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, peer Peer, req wire.Message) wire.Message

// ServeExchange calls f.
func (f HandlerFunc) ServeExchange(ctx context.Context, peer Peer, req wire.Message) wire.Message {
	return f(ctx, peer, req)
}

var _ Handler = HandlerFunc(nil)

// ServerConfig configures a Server. Zero fields take the documented defaults.
type ServerConfig struct {
	// Identity is the node the server proves to be. Required.
	Identity *Identity
	// Addr is the UDP address to listen on; default ":6710".
	Addr string
	// Handler answers requests. Required.
	Handler Handler
	// PeerPolicy decides which clients may connect; nil accepts any well-formed key (enrolment
	// needs that: a pending node must be able to send its inventory).
	PeerPolicy PeerPolicy
	// Logger receives rejected peers and bad requests; default discards.
	Logger *slog.Logger
	// MaxIdleTimeout closes a connection that has been silent this long; default 60 s. The
	// lower of the two peers' values applies.
	MaxIdleTimeout time.Duration
	// KeepAlivePeriod makes the server ping idle connections; default 0 (off): clients keep
	// their own connections alive, since they are the ones behind NAT.
	KeepAlivePeriod time.Duration
	// MaxFrameSize bounds a request's payload; default wire.MaxFrameSize.
	MaxFrameSize uint64
	// MaxStreamsPerConn bounds the exchanges one connection may have in flight; default 100.
	MaxStreamsPerConn int64
	// StreamIdleTimeout bounds how long a request or reply may stall without progress;
	// default 30 s. It is a stall bound, not a total, so a large inventory over a slow link
	// still gets through.
	StreamIdleTimeout time.Duration
	// Traffic, if set, hears of the application bytes of every exchange a peer made: its
	// request read and the reply written. It is called on the exchange's goroutine, so it
	// must be cheap (an atomic add).
	Traffic func(peer Peer, received, sent int)
}

func (c *ServerConfig) setDefaults() {
	if c.Addr == "" {
		c.Addr = fmt.Sprintf(":%d", DefaultPort)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxIdleTimeout == 0 {
		c.MaxIdleTimeout = DefaultServerIdleTimeout
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = wire.MaxFrameSize
	}
	if c.MaxStreamsPerConn == 0 {
		c.MaxStreamsPerConn = DefaultMaxStreamsPerConn
	}
	if c.StreamIdleTimeout == 0 {
		c.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
}

func (c *ServerConfig) validate() error {
	switch {
	case c.Identity == nil:
		return errors.New("server config: Identity is required")
	case c.Handler == nil:
		return errors.New("server config: Handler is required")
	case c.MaxIdleTimeout < 0:
		return fmt.Errorf("server config: MaxIdleTimeout %v is negative", c.MaxIdleTimeout)
	case c.KeepAlivePeriod < 0:
		return fmt.Errorf("server config: KeepAlivePeriod %v is negative", c.KeepAlivePeriod)
	case c.MaxStreamsPerConn < 0:
		return fmt.Errorf("server config: MaxStreamsPerConn %d is negative", c.MaxStreamsPerConn)
	case c.StreamIdleTimeout < 0:
		return fmt.Errorf("server config: StreamIdleTimeout %v is negative", c.StreamIdleTimeout)
	}
	return checkIdentity(c.Identity)
}

func checkIdentity(id *Identity) error {
	if err := CheckNodeID(id.NodeID); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if len(id.Key) != 64 {
		return fmt.Errorf("identity of node %s: key of %d bytes, want an ed25519 private key", id.NodeID, len(id.Key))
	}
	return nil
}

// Server answers exchanges from other nodes over QUIC.
type Server struct {
	cfg ServerConfig
	log *slog.Logger
	udp *net.UDPConn
	tr  *quic.Transport
	ln  *quic.Listener

	mu      sync.Mutex
	closed  bool
	serving bool
	conns   map[*quic.Conn]struct{}
	wg      sync.WaitGroup // every goroutine Serve started

	closeOnce sync.Once
	closeErr  error
}

// Listen binds the server's UDP socket and starts nothing: Serve does the work.
func Listen(cfg ServerConfig) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cert, err := cfg.Identity.certificate()
	if err != nil {
		return nil, err
	}
	uaddr, err := net.ResolveUDPAddr("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	udp, err := net.ListenUDP("udp", uaddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	tr := newTransport(udp, cfg.Identity)
	tr.ConnContext = func(ctx context.Context, info *quic.ClientInfo) (context.Context, error) {
		logRefusedByPeer(ctx, cfg.Logger, info.RemoteAddr)
		return ctx, nil
	}
	qconf := &quic.Config{
		HandshakeIdleTimeout:           defaultHandshakeTimeout,
		MaxIdleTimeout:                 cfg.MaxIdleTimeout,
		KeepAlivePeriod:                cfg.KeepAlivePeriod,
		MaxIncomingStreams:             cfg.MaxStreamsPerConn,
		MaxIncomingUniStreams:          -1,
		InitialStreamReceiveWindow:     initialStreamWindow,
		MaxStreamReceiveWindow:         maxStreamWindow,
		InitialConnectionReceiveWindow: initialConnectionWindow,
		MaxConnectionReceiveWindow:     maxConnectionWindow,
	}
	ln, err := tr.Listen(serverTLS(cert, cfg.PeerPolicy, cfg.Logger), qconf)
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		udp:   udp,
		tr:    tr,
		ln:    ln,
		conns: make(map[*quic.Conn]struct{}),
	}, nil
}

// newTransport wraps the process's UDP socket. The stateless reset key is derived from the
// node key so that it survives a restart: a restarted server then resets the connections
// its predecessor held, and their clients redial at once instead of waiting for a timeout.
func newTransport(udp *net.UDPConn, id *Identity) *quic.Transport {
	h := sha256.New()
	h.Write([]byte(statelessResetKeyLabel))
	h.Write(id.Key.Seed())
	var key quic.StatelessResetKey
	copy(key[:], h.Sum(nil))
	return &quic.Transport{Conn: udp, StatelessResetKey: &key}
}

// logRefusedByPeer logs, once the connection ends, a handshake the client aborted because
// it refused our certificate: a client pinning another key is worth an operator's look, and
// quic-go would drop it silently. Our own refusals are logged by the verifier.
func logRefusedByPeer(ctx context.Context, log *slog.Logger, addr net.Addr) {
	context.AfterFunc(ctx, func() {
		if err, ok := remoteRejection(context.Cause(ctx)); ok {
			log.Warn("peer refused our certificate", "addr", addr, "err", err)
		}
	})
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.udp.LocalAddr() }

// Serve accepts connections and answers their exchanges until ctx ends or Close is called,
// then closes every connection and returns once every goroutine it started has returned.
// It returns nil after such a shutdown. Serve may be called once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("serve on %s: %w", s.Addr(), ErrClosed)
	}
	if s.serving {
		s.mu.Unlock()
		return fmt.Errorf("serve on %s: already serving", s.Addr())
	}
	s.serving = true
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var err error
	for {
		conn, aerr := s.ln.Accept(ctx)
		if aerr != nil {
			if ctx.Err() == nil && !s.isClosed() {
				err = fmt.Errorf("accept on %s: %w", s.Addr(), aerr)
			}
			break
		}
		if !s.track(conn) {
			conn.CloseWithError(connErrorShutdown, connErrorShutdownMessage)
			continue
		}
		go s.serveConn(ctx, conn)
	}
	cancel()
	// No new connections once Serve is done, even if Close comes later.
	s.ln.Close()
	s.closeConns()
	s.wg.Wait()
	return err
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track registers conn and its goroutine; false once the server is closed. wg.Add happens
// under mu so that it is ordered before Close's Wait.
func (s *Server) track(conn *quic.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[conn] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(conn *quic.Conn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}

// closeConns tells every peer we are going, so clients redial elsewhere at once;
// quic.Transport.Close would drop them without a word.
func (s *Server) closeConns() {
	s.mu.Lock()
	conns := make([]*quic.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.CloseWithError(connErrorShutdown, connErrorShutdownMessage)
	}
}

// Close stops the server: it closes every connection, waits for the exchanges in flight to
// notice, and releases the socket. It is idempotent, and must not be called from a Handler.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.ln.Close()
		s.closeConns()
		s.wg.Wait()
		if err := s.tr.Close(); err != nil {
			s.closeErr = fmt.Errorf("close server on %s: %w", s.Addr(), err)
		}
		if err := s.udp.Close(); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("close server on %s: %w", s.Addr(), err)
		}
	})
	return s.closeErr
}

func (s *Server) serveConn(ctx context.Context, conn *quic.Conn) {
	defer s.wg.Done()
	defer s.untrack(conn)
	peer, err := peerOfConn(conn)
	if err != nil {
		// The handshake checks make this unreachable; it guards the invariant.
		s.log.Warn("refused peer", "addr", conn.RemoteAddr(), "err", err)
		conn.CloseWithError(connErrorProtocol, connErrorProtocolMessage)
		return
	}
	log := s.log.With("addr", peer.Addr.String(), "node", peer.NodeID)
	log.Debug("peer connected")
	for {
		str, err := conn.AcceptStream(ctx)
		if err != nil {
			log.Debug("peer gone", "err", err)
			return
		}
		s.wg.Add(1)
		go s.serveStream(ctx, peer, log, str)
	}
}

// serveStream runs one exchange: one request in, one reply out.
func (s *Server) serveStream(ctx context.Context, peer Peer, log *slog.Logger, str *quic.Stream) {
	defer s.wg.Done()
	written := 0
	// A no-op once the request was read to EOF; otherwise it frees the stream's receive
	// side instead of leaving the peer's data buffered (DEPS.md §3).
	defer str.CancelRead(streamErrorRefused)

	req, read, err := s.readRequest(str)
	if s.cfg.Traffic != nil {
		defer func() { s.cfg.Traffic(peer, read, written) }()
	}
	if err != nil {
		var se *quic.StreamError
		if errors.As(err, &se) || connLost(err) || ctx.Err() != nil {
			// The client gave up or the connection is gone: nobody to answer.
			log.Debug("exchange abandoned", "err", err)
			str.CancelWrite(streamErrorCanceled)
			return
		}
		log.Warn("bad request", "err", err)
		// Stop the client's upload first, so a client still sending an oversized request
		// learns at once and reads our answer.
		str.CancelRead(streamErrorRefused)
		written = s.writeReply(str, log, &wire.Ack{Status: wire.AckError, Reason: requestErrorReason(err)})
		return
	}

	// The handler's context ends when the server stops, the connection dies or the client
	// abandons the stream (str.Context ends when the peer stops reading our reply).
	hctx, cancel := context.WithCancel(str.Context())
	stop := context.AfterFunc(ctx, cancel)
	reply := s.handle(hctx, peer, log, req)
	stop()
	cancel()
	written = s.writeReply(str, log, reply)
}

func requestErrorReason(err error) string {
	switch {
	case errors.Is(err, wire.ErrFrameTooLarge):
		return "request too large: " + err.Error()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "request stalled"
	}
	return "malformed request: " + err.Error()
}

// readRequest reads exactly one message and then the end of the stream; read is how many
// bytes it took from the stream.
func (s *Server) readRequest(str *quic.Stream) (req wire.Message, read int, err error) {
	limit := int64(s.cfg.MaxFrameSize) + frameHeaderSlack + maxRequestUnknownSkipping
	lr := &io.LimitedReader{R: str, N: limit}
	defer func() { read = int(limit - lr.N) }()
	sr := &streamReader{r: lr, s: str, stall: s.cfg.StreamIdleTimeout}
	br := bufio.NewReaderSize(sr, 512)
	req, err = wire.ReadMessage(br, s.cfg.MaxFrameSize)
	if err == io.EOF {
		return nil, 0, errors.New("empty request")
	}
	if err != nil {
		if sr.err != nil {
			// wire reports a failed read inside a frame as malformed; the stream's own
			// error (a stall, a cancel, a lost connection) says what happened.
			return nil, 0, sr.err
		}
		return nil, 0, err
	}
	switch _, err := br.ReadByte(); {
	case err == io.EOF && lr.N > 0:
		return req, 0, nil
	case err == nil || err == io.EOF:
		return nil, 0, fmt.Errorf("data after the %v request", req.Type())
	default:
		return nil, 0, err
	}
}

// streamReader keeps the stream's first error other than EOF, which wire flattens into
// ErrMalformed when it happens inside a frame. With stall set, it also extends the read
// deadline before every read, so that the deadline bounds a stall, not the whole transfer.
type streamReader struct {
	r     io.Reader
	s     *quic.Stream
	stall time.Duration
	err   error
}

func (r *streamReader) Read(p []byte) (int, error) {
	if r.stall > 0 {
		r.s.SetReadDeadline(time.Now().Add(r.stall))
	}
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func (s *Server) handle(ctx context.Context, peer Peer, log *slog.Logger, req wire.Message) (reply wire.Message) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("handler panic", "request", req.Type(), "panic", v, "stack", string(debug.Stack()))
			reply = &wire.Ack{Status: wire.AckError, Reason: "internal error"}
		}
	}()
	reply = s.cfg.Handler.ServeExchange(ctx, peer, req)
	if reply == nil {
		log.Error("handler returned no reply", "request", req.Type())
		reply = &wire.Ack{Status: wire.AckError, Reason: "internal error: no reply"}
	}
	return reply
}

// writeReply writes one frame and closes the send side.
func (s *Server) writeReply(str *quic.Stream, log *slog.Logger, reply wire.Message) (written int) {
	frame, err := wire.AppendFrame(nil, reply)
	if err == nil && uint64(len(frame)) > s.cfg.MaxFrameSize+frameHeaderSlack {
		err = fmt.Errorf("%w: %v reply of %d bytes", wire.ErrFrameTooLarge, reply.Type(), len(frame))
	}
	if err != nil {
		log.Error("cannot send reply", "reply", reply.Type(), "err", err)
		frame, _ = wire.AppendFrame(nil, &wire.Ack{Status: wire.AckError, Reason: "internal error: reply not encodable"})
	}
	for len(frame) > 0 {
		n := min(len(frame), replyChunk)
		str.SetWriteDeadline(time.Now().Add(s.cfg.StreamIdleTimeout))
		w, err := str.Write(frame[:n])
		written += w
		if err != nil {
			log.Debug("reply not delivered", "reply", reply.Type(), "err", err)
			str.CancelWrite(streamErrorCanceled)
			return written
		}
		frame = frame[n:]
	}
	str.Close()
	return written
}
