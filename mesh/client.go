package mesh

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bosun-io/bosun/wire"
	"github.com/quic-go/quic-go"
)

// Client defaults; see ClientConfig.
const (
	// DefaultKeepAlivePeriod is below the 30 s after which many NAT boxes and firewalls drop
	// an idle UDP mapping (RFC 4787 asks for 2 min; cheap routers do not comply), with room
	// for one lost keep-alive, so a NAT-ed agent stays reachable on its connection.
	DefaultKeepAlivePeriod = 15 * time.Second
	// DefaultClientIdleTimeout declares a peer dead after four keep-alive periods without a
	// sign of life: long enough to ride out a few lost packets, short enough that an agent
	// whose relay died redials (or fails over) within a minute.
	DefaultClientIdleTimeout = 60 * time.Second
	// DefaultDialTimeout bounds a dial and handshake when ctx has no earlier deadline.
	DefaultDialTimeout = 10 * time.Second
)

// ClientConfig configures a Client. Zero fields take the documented defaults.
type ClientConfig struct {
	// Identity is the node the client proves to be. Required.
	Identity *Identity
	// PeerPolicy verifies the server: pin its fingerprint (PinFingerprint, FilePin). nil
	// accepts any well-formed key, which suits tests and tools, never an agent.
	PeerPolicy PeerPolicy
	// Logger receives rejected servers and redials; default discards.
	Logger *slog.Logger
	// KeepAlivePeriod: default 15 s (DefaultKeepAlivePeriod); negative turns keep-alives off,
	// for agents that dial on demand and hold no connection while idle.
	KeepAlivePeriod time.Duration
	// MaxIdleTimeout: default 60 s (DefaultClientIdleTimeout).
	MaxIdleTimeout time.Duration
	// DialTimeout bounds one dial and handshake; default 10 s.
	DialTimeout time.Duration
	// MaxFrameSize bounds a reply's payload, and a request's; default wire.MaxFrameSize.
	MaxFrameSize uint64
}

func (c *ClientConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.KeepAlivePeriod == 0:
		c.KeepAlivePeriod = DefaultKeepAlivePeriod
	case c.KeepAlivePeriod < 0:
		c.KeepAlivePeriod = 0
	}
	if c.MaxIdleTimeout == 0 {
		c.MaxIdleTimeout = DefaultClientIdleTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = wire.MaxFrameSize
	}
}

func (c *ClientConfig) validate() error {
	switch {
	case c.Identity == nil:
		return errors.New("client config: Identity is required")
	case c.MaxIdleTimeout < 0:
		return fmt.Errorf("client config: MaxIdleTimeout %v is negative", c.MaxIdleTimeout)
	case c.DialTimeout < 0:
		return fmt.Errorf("client config: DialTimeout %v is negative", c.DialTimeout)
	}
	return checkIdentity(c.Identity)
}

// Client runs exchanges with servers, keeping one connection per server address.
type Client struct {
	cfg   ClientConfig
	log   *slog.Logger
	cert  tls.Certificate
	qconf *quic.Config
	udp   *net.UDPConn    // nil when the transport is borrowed from a Server
	tr    *quic.Transport // owned only when udp != nil

	ctx    context.Context // ends at Close, aborting dials
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	conns  map[string]*clientConn
	wg     sync.WaitGroup // dial goroutines

	closeOnce sync.Once
	closeErr  error

	sent, received atomic.Uint64 // application bytes of requests and replies
}

// Traffic returns the application bytes (frames) sent and received by this client, for
// the figures a relay reports on its uplink.
func (c *Client) Traffic() (sent, received uint64) { return c.sent.Load(), c.received.Load() }

// clientConn is a connection to one address, or the dial that will make it: done closes
// once conn and peer, or err, are set.
type clientConn struct {
	addr string
	done chan struct{}
	conn *quic.Conn
	peer Peer
	err  error
}

// NewClient opens the client's own UDP socket on an ephemeral port. A process that also
// runs a Server should use Server.NewClient to share its socket.
func NewClient(cfg ClientConfig) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, fmt.Errorf("client socket: %w", err)
	}
	c, err := newClient(cfg, newTransport(udp, cfg.Identity))
	if err != nil {
		udp.Close()
		return nil, err
	}
	c.udp = udp
	return c, nil
}

// NewClient returns a client that dials from the server's socket, so that the process uses
// one UDP port and one quic.Transport. Closing the client leaves the server running; closing
// the server breaks the client.
func (s *Server) NewClient(cfg ClientConfig) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newClient(cfg, s.tr)
}

func newClient(cfg ClientConfig, tr *quic.Transport) (*Client, error) {
	cert, err := cfg.Identity.certificate()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		cfg:  cfg,
		log:  cfg.Logger,
		cert: cert,
		qconf: &quic.Config{
			HandshakeIdleTimeout:           cfg.DialTimeout,
			MaxIdleTimeout:                 cfg.MaxIdleTimeout,
			KeepAlivePeriod:                cfg.KeepAlivePeriod,
			MaxIncomingStreams:             -1, // servers answer, they do not ask
			MaxIncomingUniStreams:          -1,
			InitialStreamReceiveWindow:     initialStreamWindow,
			MaxStreamReceiveWindow:         maxStreamWindow,
			InitialConnectionReceiveWindow: initialConnectionWindow,
			MaxConnectionReceiveWindow:     maxConnectionWindow,
		},
		tr:     tr,
		ctx:    ctx,
		cancel: cancel,
		conns:  make(map[string]*clientConn),
	}, nil
}

// Exchange sends req to the server at addr and returns its reply and the peer that sent
// it. An error Ack is a reply, not an error. The connection to addr is reused; if it turns
// out dead (idle timeout, server restart), Exchange redials once, so a request can reach the
// server twice and requests must be idempotent. Every error names addr; a refused key
// satisfies errors.Is(err, ErrPeerRejected) and a failed dial is a *HandshakeError.
func (c *Client) Exchange(ctx context.Context, addr string, req wire.Message) (wire.Message, Peer, error) {
	frame, err := c.encode(req)
	if err != nil {
		return nil, Peer{}, fmt.Errorf("exchange %v with %s: %w", req.Type(), addr, err)
	}
	for attempt := 0; ; attempt++ {
		cc, reused, err := c.connFor(ctx, addr)
		if err != nil {
			return nil, Peer{}, c.wrap(ctx, addr, req, err)
		}
		reply, n, err := c.roundTrip(ctx, cc.conn, frame)
		c.sent.Add(uint64(len(frame)))
		c.received.Add(uint64(n))
		if err == nil {
			return reply, cc.peer, nil
		}
		if !connLost(err) && cc.conn.Context().Err() == nil {
			return nil, cc.peer, c.wrap(ctx, addr, req, err)
		}
		c.forget(cc)
		if _, rejected := remoteRejection(err); rejected || !reused || attempt > 0 || ctx.Err() != nil {
			return nil, cc.peer, c.wrap(ctx, addr, req, err)
		}
		c.log.Debug("connection lost, redialling", "addr", addr, "node", cc.peer.NodeID, "err", err)
	}
}

func (c *Client) encode(req wire.Message) ([]byte, error) {
	payload, err := req.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if uint64(len(payload)) > c.cfg.MaxFrameSize {
		return nil, fmt.Errorf("%w: request of %d bytes, limit %d", wire.ErrFrameTooLarge, len(payload), c.cfg.MaxFrameSize)
	}
	frame := binary.AppendUvarint(make([]byte, 0, len(payload)+frameHeaderSlack), uint64(req.Type()))
	frame = binary.AppendUvarint(frame, uint64(len(payload)))
	return append(frame, payload...), nil
}

// wrap names the server in err, and says a refusal of our key is one.
func (c *Client) wrap(ctx context.Context, addr string, req wire.Message, err error) error {
	var he *HandshakeError
	if errors.As(err, &he) {
		return err
	}
	if rerr, ok := remoteRejection(err); ok {
		// TLS 1.3 lets the client finish its handshake before the server has checked the
		// client's certificate, so the server's refusal arrives on the first stream.
		return &HandshakeError{Addr: addr, Err: rerr}
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return fmt.Errorf("exchange %v with %s: %w", req.Type(), addr, err)
}

// connFor returns the connection to addr, dialling it if there is none or it died. reused
// reports a connection that existed before this call, which alone is worth a retry.
func (c *Client) connFor(ctx context.Context, addr string) (cc *clientConn, reused bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, ErrClosed
	}
	cc = c.conns[addr]
	if cc != nil {
		select {
		case <-cc.done:
			if cc.err == nil && cc.conn.Context().Err() == nil {
				reused = true
			} else {
				cc = nil
			}
		default: // a dial in progress: share it
		}
	}
	if cc == nil {
		cc = &clientConn{addr: addr, done: make(chan struct{})}
		c.conns[addr] = cc
		c.wg.Add(1)
		go c.dial(cc)
	}
	c.mu.Unlock()
	select {
	case <-cc.done:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	if cc.err != nil {
		return nil, false, cc.err
	}
	return cc, reused, nil
}

// dial runs on its own goroutine so that a caller whose ctx ends can leave while others
// still wait for the connection; Close cancels it.
func (c *Client) dial(cc *clientConn) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.DialTimeout)
	defer cancel()
	cc.conn, cc.peer, cc.err = c.dialAddr(ctx, cc.addr)
	if cc.err != nil {
		c.forget(cc)
	}
	close(cc.done)
}

func (c *Client) dialAddr(ctx context.Context, addr string) (*quic.Conn, Peer, error) {
	uaddr, err := resolveUDP(ctx, addr)
	if err != nil {
		return nil, Peer{}, &HandshakeError{Addr: addr, Err: err}
	}
	conn, err := c.tr.Dial(ctx, uaddr, clientTLS(c.cert, c.cfg.PeerPolicy, c.log, uaddr), c.qconf)
	if err != nil {
		if rerr, ok := remoteRejection(err); ok {
			err = rerr
		} else if lerr, ok := localRefusal(err); ok {
			err = lerr
		}
		return nil, Peer{}, &HandshakeError{Addr: addr, Err: err}
	}
	peer, err := peerOfConn(conn)
	if err != nil {
		conn.CloseWithError(connErrorProtocol, connErrorProtocolMessage)
		return nil, Peer{}, &HandshakeError{Addr: addr, Err: err}
	}
	return conn, peer, nil
}

// resolveUDP resolves host:port under ctx, which net.ResolveUDPAddr cannot.
func resolveUDP(ctx context.Context, addr string) (*net.UDPAddr, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		p, lerr := net.DefaultResolver.LookupPort(ctx, "udp", portStr)
		if lerr != nil {
			return nil, fmt.Errorf("port %q: %w", portStr, lerr)
		}
		port = uint64(p)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if lerr != nil {
			return nil, lerr
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("no address for %s", host)
		}
		ip = ips[0]
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip.Unmap(), uint16(port))), nil
}

// forget drops cc from the cache if it is still the cached one, and closes its connection.
func (c *Client) forget(cc *clientConn) {
	c.mu.Lock()
	if c.conns[cc.addr] == cc {
		delete(c.conns, cc.addr)
	}
	c.mu.Unlock()
	if cc.conn != nil {
		cc.conn.CloseWithError(connErrorClientClosed, connErrorClientMessage)
	}
}

// roundTrip runs one exchange on its own stream.
func (c *Client) roundTrip(ctx context.Context, conn *quic.Conn, frame []byte) (reply wire.Message, replyBytes int, err error) {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, 0, err
	}
	stop := context.AfterFunc(ctx, func() {
		str.CancelWrite(streamErrorCanceled)
		str.CancelRead(streamErrorCanceled)
	})
	defer stop()
	_, err = str.Write(frame)
	if err == nil {
		err = str.Close()
	}
	var se *quic.StreamError
	if err != nil && !(errors.As(err, &se) && se.Remote) {
		str.CancelRead(streamErrorCanceled)
		return nil, 0, err
	}
	// A server that stopped our upload (a request it refuses) may still have answered.
	sr := &streamReader{r: str, s: str}
	cr := &countingReader{r: sr}
	br := bufio.NewReaderSize(cr, 512)
	reply, err = wire.ReadMessage(br, c.cfg.MaxFrameSize)
	if err != nil {
		str.CancelRead(streamErrorCanceled)
		if sr.err != nil {
			return nil, cr.n, sr.err
		}
		if err == io.EOF {
			return nil, cr.n, ErrNoReply
		}
		return nil, cr.n, err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		str.CancelRead(streamErrorTrailing)
	}
	return reply, cr.n, nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// Close closes every connection, waits for dials in flight, and releases the socket it
// owns. Exchanges in flight fail. Close is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.cancel()
		c.wg.Wait()
		c.mu.Lock()
		conns := c.conns
		c.conns = nil
		c.mu.Unlock()
		for _, cc := range conns {
			if cc.conn != nil {
				cc.conn.CloseWithError(connErrorClientClosed, connErrorClientMessage)
			}
		}
		if c.udp != nil {
			if err := c.tr.Close(); err != nil {
				c.closeErr = fmt.Errorf("close client: %w", err)
			}
			if err := c.udp.Close(); err != nil && c.closeErr == nil {
				c.closeErr = fmt.Errorf("close client: %w", err)
			}
		}
	})
	return c.closeErr
}
