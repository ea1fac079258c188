package mesh

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// makeCert builds a certificate for pub signed by signer, with the given subject and URIs.
func makeCert(t testing.TB, pub crypto.PublicKey, signer crypto.Signer, cn string, uris ...string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestPeerFromCertificate(t *testing.T) {
	id := newIdentity(t)
	good, err := id.certificate()
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const otherID = "0f8fad5b-d9cb-469f-a165-70867728950e"
	uri := "bosun:node:" + id.NodeID
	tests := []struct {
		name string
		der  []byte
		want string // "" means accepted
	}{
		{"ours", good.Certificate[0], ""},
		{"extra non-bosun URI", makeCert(t, id.Public(), id.Key, id.NodeID, uri, "https://example.com/"), ""},
		{"ecdsa key", makeCert(t, &ecKey.PublicKey, ecKey, id.NodeID, uri), "want ed25519"},
		{"subject not a node id", makeCert(t, id.Public(), id.Key, "root", "bosun:node:root"), "not a lowercase UUID"},
		{"no URI", makeCert(t, id.Public(), id.Key, id.NodeID), "no URI"},
		{"URI names another node", makeCert(t, id.Public(), id.Key, id.NodeID, "bosun:node:"+otherID), "does not match subject"},
		{"two URIs, one wrong", makeCert(t, id.Public(), id.Key, id.NodeID, uri, "bosun:node:"+otherID), "does not match subject"},
		{"signed by another key", makeCert(t, id.Public(), otherKey, id.NodeID, uri), "not self-signed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := x509.ParseCertificate(tt.der)
			if err != nil {
				t.Fatal(err)
			}
			nodeID, key, err := peerFromCertificate(cert)
			if tt.want == "" {
				if err != nil || nodeID != id.NodeID || !key.Equal(id.Public()) {
					t.Errorf("got %s %x %v, want %s %x accepted", nodeID, key, err, id.NodeID, id.Public())
				}
				return
			}
			if !errors.Is(err, ErrBadCertificate) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrBadCertificate saying %q", err, tt.want)
			}
		})
	}
}

func TestCertificateShape(t *testing.T) {
	id := newIdentity(t)
	c, err := id.certificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Leaf
	if leaf.Subject.CommonName != id.NodeID {
		t.Errorf("CN: got %q, want %q", leaf.Subject.CommonName, id.NodeID)
	}
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != "bosun:node:"+id.NodeID {
		t.Errorf("URIs: got %v, want [bosun:node:%s]", leaf.URIs, id.NodeID)
	}
	now := time.Now()
	if !leaf.NotBefore.Before(now.Add(-59*time.Minute)) || leaf.NotAfter.Before(now.Add(9*365*24*time.Hour)) {
		t.Errorf("validity: got %v to %v, want from an hour ago for 10 years", leaf.NotBefore, leaf.NotAfter)
	}
}

func TestVerifierPassesPeerToPolicy(t *testing.T) {
	id := newIdentity(t)
	c, err := id.certificate()
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 6710}
	var got Peer
	logs := &logBuffer{}
	verify := verifier(func(p Peer) error { got = p; return errors.New("no thanks") }, logs.logger(), addr)
	err = verify(tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.Leaf}})
	if !errors.Is(err, ErrPeerRejected) {
		t.Errorf("got %v, want ErrPeerRejected", err)
	}
	if ae, ok := errors.AsType[tls.AlertError](err); !ok || ae != alertAccessDenied {
		t.Errorf("alert: got %v, want access_denied", ae)
	}
	if got.NodeID != id.NodeID || !got.Key.Equal(id.Public()) || got.Addr != addr {
		t.Errorf("policy saw %+v, want node %s at %v", got, id.NodeID, addr)
	}
	if _, ok := logs.lineWith("rejected by policy", "addr=192.0.2.1:6710", "node="+id.NodeID, id.Fingerprint()); !ok {
		t.Errorf("log lacks the rejection:\n%s", logs)
	}
	err = verify(tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.Leaf, c.Leaf}})
	if ae, ok := errors.AsType[tls.AlertError](err); !errors.Is(err, ErrBadCertificate) || !ok || ae != alertBadCertificate {
		t.Errorf("two certificates: got %v, want ErrBadCertificate with alert bad_certificate", err)
	}
}

// FuzzPeerFromCertificate feeds arbitrary DER, as a peer could send, through the checks.
func FuzzPeerFromCertificate(f *testing.F) {
	id, _, err := LoadOrCreateIdentity(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	good, err := id.certificate()
	if err != nil {
		f.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	f.Add(good.Certificate[0])
	f.Add(makeCert(f, id.Public(), otherKey, id.NodeID, "bosun:node:"+id.NodeID))
	f.Add(makeCert(f, id.Public(), id.Key, id.NodeID, "bosun:node:0f8fad5b-d9cb-469f-a165-70867728950e"))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, der []byte) {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		nodeID, key, err := peerFromCertificate(cert)
		if err != nil {
			if !errors.Is(err, ErrBadCertificate) {
				t.Fatalf("got %v, want ErrBadCertificate", err)
			}
			return
		}
		if CheckNodeID(nodeID) != nil || len(key) != ed25519.PublicKeySize {
			t.Fatalf("accepted node %q with a key of %d bytes", nodeID, len(key))
		}
		if !ed25519.Verify(key, cert.RawTBSCertificate, cert.Signature) {
			t.Fatalf("accepted a certificate its key did not sign")
		}
	})
}
