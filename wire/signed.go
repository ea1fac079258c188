package wire

import (
	"crypto/ed25519"
	"errors"
	"fmt"
)

// ErrBadSignature is returned when a signed body does not verify against the key it is
// checked with.
var ErrBadSignature = errors.New("wire: bad signature")

// Signed is a body and its originator's ed25519 signature. Relays store and forward the
// bytes exactly as received, so the root verifies what the node signed, not what a relay
// says the node signed.
type Signed struct {
	Body []byte
	Sig  []byte
}

// signingInput binds a signature to the protocol and to the kind of body, so that a
// signature over an enrolment can never be replayed as, say, a report.
func signingInput(domain string, body []byte) []byte {
	in := make([]byte, 0, len(ALPN)+len(domain)+2+len(body))
	in = append(in, ALPN...)
	in = append(in, 0)
	in = append(in, domain...)
	in = append(in, 0)
	return append(in, body...)
}

// Sign signs body for the given domain.
func Sign(domain string, body []byte, key ed25519.PrivateKey) Signed {
	return Signed{Body: body, Sig: ed25519.Sign(key, signingInput(domain, body))}
}

// Verify checks the signature against pub for the given domain.
func (s Signed) Verify(domain string, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: %s: public key of %d bytes", ErrBadSignature, domain, len(pub))
	}
	if !ed25519.Verify(pub, signingInput(domain, s.Body), s.Sig) {
		return fmt.Errorf("%w: %s", ErrBadSignature, domain)
	}
	return nil
}

func (s Signed) append(b []byte) []byte {
	b = appendBytes(b, s.Body)
	return appendBytes(b, s.Sig)
}

func (s *Signed) decode(d *decoder, maxBody uint64) {
	s.Body = cloneBytes(d.bytes("signed body", maxBody))
	s.Sig = cloneBytes(d.bytes("signature", maxSigLen))
}

func cloneBytes(p []byte) []byte {
	if p == nil {
		return nil
	}
	return append([]byte(nil), p...)
}
