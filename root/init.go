package root

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
)

// Files of a root's data directory, besides the identity mesh keeps there.
const (
	apiCertFile = "api.crt"
	apiKeyFile  = "api.key"
	dbDir       = "db"
)

// ErrNotInitialised is returned by New for a data directory Init never prepared.
var ErrNotInitialised = errors.New("root data directory not initialised")

// ErrAlreadyInitialised is returned by Init for a data directory it prepared before.
var ErrAlreadyInitialised = errors.New("root data directory already initialised")

// InitOptions says how to prepare a root.
type InitOptions struct {
	// APINames are the host names and addresses the API certificate is valid for, on top of
	// localhost, 127.0.0.1, ::1 and this machine's host name.
	APINames []string
}

// InitResult is what Init made that the operator must be told or given.
type InitResult struct {
	NodeID         string
	KeyFingerprint string
	AdminToken     string // shown once; only its hash is stored
	APICertPEM     []byte // what clients pin to reach the API
}

// Init prepares a root's data directory: identity, API certificate, first admin token.
func Init(dir string, opts InitOptions) (InitResult, error) {
	if err := store.PrepareDir(dir); err != nil {
		return InitResult{}, err
	}
	if _, err := os.Stat(filepath.Join(dir, apiCertFile)); err == nil {
		return InitResult{}, fmt.Errorf("%w: %s holds a root already; use it, or remove the directory to start over", ErrAlreadyInitialised, dir)
	}
	id, _, err := mesh.LoadOrCreateIdentity(dir)
	if err != nil {
		return InitResult{}, err
	}
	certPEM, keyPEM, err := makeAPICert(opts.APINames)
	if err != nil {
		return InitResult{}, fmt.Errorf("make API certificate: %w", err)
	}
	db, err := store.Open(filepath.Join(dir, dbDir), store.Options{Profile: store.ProfileRoot})
	if err != nil {
		return InitResult{}, err
	}
	defer db.Close()
	_, secret, err := newTokens(db, time.Now, nil).create("bosun root init", api.TokenRequest{Name: "admin", Role: api.RoleAdmin.String()})
	if err != nil {
		return InitResult{}, err
	}
	// The certificate is written last: its presence is what marks the directory as done.
	if err := store.WriteFileAtomic(filepath.Join(dir, apiKeyFile), keyPEM, 0o600); err != nil {
		return InitResult{}, err
	}
	if err := store.WriteFileAtomic(filepath.Join(dir, apiCertFile), certPEM, 0o644); err != nil {
		return InitResult{}, err
	}
	return InitResult{
		NodeID:         id.NodeID,
		KeyFingerprint: mesh.Fingerprint(id.Public()),
		AdminToken:     secret,
		APICertPEM:     certPEM,
	}, nil
}

// makeAPICert makes the API's certificate. It is ECDSA P-256 rather than the node's ed25519
// key because browsers (the dashboard) and the TLS stacks of other agents (FusionInventory's
// Perl) do not all take ed25519 certificates.
func makeAPICert(names []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "bosun root API"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed and pinned: it is its own authority
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}
