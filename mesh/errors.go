package mesh

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/quic-go/quic-go"
)

var (
	// ErrPeerRejected means a PeerPolicy refused the other side's key: ours refused theirs
	// (a pinned fingerprint that does not match, a refused node), or theirs refused ours (the
	// policy server does not, or no longer, accept this node). Dialling again will not help
	// until an operator acts.
	ErrPeerRejected = errors.New("mesh: peer rejected")
	// ErrBadCertificate means the peer's certificate is not one a bosun node makes: not
	// ed25519, not self-signed, or claiming a node id it does not carry consistently.
	ErrBadCertificate = errors.New("mesh: bad peer certificate")
	// ErrNoReply means the server closed the exchange without answering.
	ErrNoReply = errors.New("mesh: no reply")
	// ErrClosed is returned by a Client or Server used after Close.
	ErrClosed = errors.New("mesh: closed")
)

// HandshakeError is a failure to set up a connection with the peer at Addr: unreachable,
// timed out, wrong protocol, or a key one side refused (then errors.Is(err,
// ErrPeerRejected) holds).
type HandshakeError struct {
	Addr string
	Err  error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("handshake with %s: %v", e.Addr, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// TLS alerts a verifier sends, so that the other side can tell a policy decision from a
// malformed certificate. In QUIC they arrive as CRYPTO_ERROR 0x100+alert.
const (
	alertBadCertificate = tls.AlertError(42)
	alertAccessDenied   = tls.AlertError(49)
)

// withAlert makes crypto/tls send alert instead of its generic one when err fails a handshake.
func withAlert(err error, alert tls.AlertError) error {
	return fmt.Errorf("%w%.0w", err, alert)
}

// remoteRejection turns the QUIC error for "the peer's verifier refused our certificate"
// into ErrPeerRejected or ErrBadCertificate, and reports whether it did.
func remoteRejection(err error) (error, bool) {
	var te *quic.TransportError
	if !errors.As(err, &te) || !te.Remote {
		return err, false
	}
	switch te.ErrorCode {
	case quic.TransportErrorCode(0x100 + uint64(alertAccessDenied)):
		return fmt.Errorf("%w: the peer refused our key (has an operator accepted this node?): %w", ErrPeerRejected, err), true
	case quic.TransportErrorCode(0x100 + uint64(alertBadCertificate)):
		return fmt.Errorf("%w: the peer refused our certificate: %w", ErrBadCertificate, err), true
	}
	return err, false
}

// localRefusal digs our own verifier's error out of the QUIC error that carries it, so the
// caller reads why we refused the peer rather than a CRYPTO_ERROR code.
func localRefusal(err error) (error, bool) {
	var te *quic.TransportError
	if !errors.As(err, &te) || te.Remote {
		return err, false
	}
	for _, e := range te.Unwrap() {
		if e != nil && (errors.Is(e, ErrPeerRejected) || errors.Is(e, ErrBadCertificate)) {
			return e, true
		}
	}
	return err, false
}

// connLost reports whether err says the whole connection is gone, as opposed to one stream.
func connLost(err error) bool {
	return errors.Is(err, net.ErrClosed)
}
