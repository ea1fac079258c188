package mesh

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/bosun-io/bosun/wire"
	"github.com/quic-go/quic-go"
)

// certValidity is long because certificates are made afresh in memory at every start: the
// key is the identity, the certificate only carries it into TLS, and nobody checks dates.
const certValidity = 10 * 365 * 24 * time.Hour

// Peer is the other end of a connection, as its certificate proved it.
type Peer struct {
	NodeID string
	Key    ed25519.PublicKey
	Addr   net.Addr
}

// Fingerprint returns the fingerprint of the peer's key.
func (p Peer) Fingerprint() string { return Fingerprint(p.Key) }

// PeerPolicy decides, during the handshake, whether a peer whose certificate is well formed
// may connect. This is where keys are pinned: a client pins its policy server, a server
// refuses the keys of refused or deleted nodes. An error fails the handshake; the other side
// sees ErrPeerRejected. It runs on quic-go's goroutines and must not block for long.
type PeerPolicy func(p Peer) error

// PinFingerprint returns a policy that accepts only the key with the given fingerprint, as
// returned by Fingerprint or ParseFingerprint.
func PinFingerprint(fingerprint string) PeerPolicy {
	return func(p Peer) error {
		if got := p.Fingerprint(); got != fingerprint {
			return fmt.Errorf("key %s, pinned %s", got, fingerprint)
		}
		return nil
	}
}

// certificate makes the self-signed certificate that carries the node's key and id into TLS.
func (id *Identity) certificate() (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: id.NodeID},
		URIs:                  []*url.URL{nodeURI(id.NodeID)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, id.Public(), id.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate for node %s: %w", id.NodeID, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate for node %s: %w", id.NodeID, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: id.Key, Leaf: leaf}, nil
}

func nodeURI(nodeID string) *url.URL {
	return &url.URL{Scheme: "bosun", Opaque: "node:" + nodeID}
}

// peerFromCertificate checks that cert is what a bosun node makes and returns the node id
// and key it carries. Proof that the peer holds the private key comes from the TLS 1.3
// CertificateVerify message, which crypto/tls has checked before this runs.
func peerFromCertificate(cert *x509.Certificate) (string, ed25519.PublicKey, error) {
	key, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || cert.PublicKeyAlgorithm != x509.Ed25519 {
		return "", nil, fmt.Errorf("%w: %v key, want ed25519", ErrBadCertificate, cert.PublicKeyAlgorithm)
	}
	nodeID := cert.Subject.CommonName
	if err := CheckNodeID(nodeID); err != nil {
		return "", nil, fmt.Errorf("%w: subject: %w", ErrBadCertificate, err)
	}
	want := nodeURI(nodeID).String()
	found := false
	for _, u := range cert.URIs {
		if u.Scheme != "bosun" {
			continue
		}
		if u.String() != want {
			return "", nil, fmt.Errorf("%w: URI %s does not match subject %s", ErrBadCertificate, u, nodeID)
		}
		found = true
	}
	if !found {
		return "", nil, fmt.Errorf("%w: no URI %s", ErrBadCertificate, want)
	}
	if cert.SignatureAlgorithm != x509.PureEd25519 {
		return "", nil, fmt.Errorf("%w: signed with %v, want Ed25519", ErrBadCertificate, cert.SignatureAlgorithm)
	}
	// CheckSignature rather than CheckSignatureFrom: the latter wants a CA certificate.
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return "", nil, fmt.Errorf("%w: not self-signed by its key: %w", ErrBadCertificate, err)
	}
	return nodeID, key, nil
}

// peerOfConn returns the peer a completed handshake verified.
func peerOfConn(conn *quic.Conn) (Peer, error) {
	cs := conn.ConnectionState().TLS
	if cs.NegotiatedProtocol != wire.ALPN {
		return Peer{}, fmt.Errorf("ALPN %q, want %q", cs.NegotiatedProtocol, wire.ALPN)
	}
	if len(cs.PeerCertificates) == 0 {
		return Peer{}, fmt.Errorf("%w: none", ErrBadCertificate)
	}
	nodeID, key, err := peerFromCertificate(cs.PeerCertificates[0])
	if err != nil {
		return Peer{}, err
	}
	return Peer{NodeID: nodeID, Key: key, Addr: conn.RemoteAddr()}, nil
}

// verifier returns the tls.Config.VerifyConnection of one handshake with the peer at addr.
// It runs on full handshakes and resumptions alike, so a policy change is never bypassed.
func verifier(policy PeerPolicy, log *slog.Logger, addr net.Addr) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) != 1 {
			log.Warn("refused peer: want exactly one self-signed certificate", "addr", addr, "certificates", len(cs.PeerCertificates))
			return withAlert(fmt.Errorf("%w: %d certificates from %s, want 1", ErrBadCertificate, len(cs.PeerCertificates), addr), alertBadCertificate)
		}
		nodeID, key, err := peerFromCertificate(cs.PeerCertificates[0])
		if err != nil {
			log.Warn("refused peer: bad certificate", "addr", addr, "err", err)
			return withAlert(fmt.Errorf("peer at %s: %w", addr, err), alertBadCertificate)
		}
		if policy == nil {
			return nil
		}
		p := Peer{NodeID: nodeID, Key: key, Addr: addr}
		if err := policy(p); err != nil {
			log.Warn("refused peer: rejected by policy", "addr", addr, "node", nodeID, "fingerprint", p.Fingerprint(), "err", err)
			return withAlert(fmt.Errorf("%w: node %s at %s: %w", ErrPeerRejected, nodeID, addr, err), alertAccessDenied)
		}
		return nil
	}
}

// serverTLS returns the server's TLS configuration: TLS 1.3, our ALPN only, a client
// certificate required and checked by verifier. Chain verification is off because every
// certificate is self-signed; the policy pins keys instead.
func serverTLS(cert tls.Certificate, policy PeerPolicy, log *slog.Logger) *tls.Config {
	base := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{wire.ALPN},
		ClientAuth:   tls.RequireAnyClientCert,
		// Resumed sessions would skip sending the client certificate; without tickets,
		// every connection proves its key again.
		SessionTicketsDisabled: true,
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// quic-go fills hello.Conn with the remote address, which the verifier needs for
		// its logs and the policy; hence one cloned configuration per handshake.
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			var addr net.Addr
			if hello.Conn != nil {
				addr = hello.Conn.RemoteAddr()
			}
			if !slices.Contains(hello.SupportedProtos, wire.ALPN) {
				// crypto/tls refuses it with no_application_protocol; say so here.
				log.Warn("refused peer: wrong ALPN", "addr", addr, "alpn", hello.SupportedProtos)
			}
			c := base.Clone()
			c.VerifyConnection = verifier(policy, log, addr)
			return c, nil
		},
	}
}

// clientTLS returns the TLS configuration for dialling addr.
func clientTLS(cert tls.Certificate, policy PeerPolicy, log *slog.Logger, addr net.Addr) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{wire.ALPN},
		// Self-signed certificates fail chain verification by design; VerifyConnection
		// checks the certificate and the caller's policy pins the key.
		InsecureSkipVerify: true,
		VerifyConnection:   verifier(policy, log, addr),
		ServerName:         "bosun",
	}
}
