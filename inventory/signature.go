package inventory

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrBadSignature refuses an inventory whose signature does not verify, or whose key
	// cannot be read.
	ErrBadSignature = errors.New("inventory signature does not verify")
	// ErrSignatureFormat refuses a signature file that is not rudder-signature-v1.
	ErrSignatureFormat = errors.New("unsupported inventory signature format")
)

// VerifyRudderSignature checks a Rudder agent's signature of an inventory file. sig is the
// .sign file beside it, format rudder-signature-v1: key=value lines, header
// rudder-signature-v1, algorithm sha512, digest the hex of an RSA PKCS#1 v1.5 signature
// over the SHA-512 of the inventory's bytes (as sent, before any decompression by us).
// certPEM is the agent's certificate from <RUDDER><AGENT><AGENT_CERT> (a PEM public key
// is accepted too). The key should be the one pinned for the node, not only the one the
// inventory carries.
func VerifyRudderSignature(inventory []byte, sig []byte, certPEM string) error {
	fields := make(map[string]string)
	for line := range strings.SplitSeq(string(sig), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if h := fields["header"]; h != "rudder-signature-v1" {
		return fmt.Errorf("verify signature: header %q: %w", h, ErrSignatureFormat)
	}
	if a := fields["algorithm"]; a != "sha512" {
		return fmt.Errorf("verify signature: algorithm %q: %w", a, ErrSignatureFormat)
	}
	digest, err := hex.DecodeString(fields["digest"])
	if err != nil || len(digest) == 0 {
		return fmt.Errorf("verify signature: digest not hex: %w", ErrSignatureFormat)
	}
	pub, err := rudderPublicKey(certPEM)
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("verify signature: key is %T, want RSA: %w", pub, ErrBadSignature)
	}
	sum := sha512.Sum512(inventory)
	if err := rsa.VerifyPKCS1v15(rsaPub, crypto.SHA512, sum[:], digest); err != nil {
		return fmt.Errorf("verify signature (key %s): %v: %w", fields["keyid"], err, ErrBadSignature)
	}
	return nil
}
