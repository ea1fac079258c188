package mesh

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Names of the identity files inside a node's state directory.
const (
	KeyFile    = "node.key"
	NodeIDFile = "node.id"
)

const fingerprintPrefix = "sha256:"

// ErrBadNodeID is returned for a node id that is not a canonical lowercase UUID.
var ErrBadNodeID = errors.New("mesh: node id is not a lowercase UUID")

// Identity is who this process is in the mesh: the node id it claims and the key that
// proves it. The key is also what other nodes pin.
type Identity struct {
	NodeID string
	Key    ed25519.PrivateKey
}

// Public returns the public half of the node key.
func (id *Identity) Public() ed25519.PublicKey {
	return id.Key.Public().(ed25519.PublicKey)
}

// Fingerprint returns the fingerprint of the node key, as operators compare and pin it.
func (id *Identity) Fingerprint() string { return Fingerprint(id.Public()) }

// LoadOrCreateIdentity reads the node identity kept in dir, creating whatever part of it is
// missing. created reports that a file was written, so the caller knows its identity is new
// (a new key must be accepted again by an operator; a new id is a new node).
//
// The node id is written once and never changed. A key file readable by group or others is
// refused rather than silently fixed: someone may already have copied it.
func LoadOrCreateIdentity(dir string) (id *Identity, created bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create identity dir %s: %w", dir, err)
	}
	key, keyCreated, err := loadOrCreateKey(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, false, err
	}
	nodeID, idCreated, err := loadOrCreateNodeID(filepath.Join(dir, NodeIDFile))
	if err != nil {
		return nil, false, err
	}
	return &Identity{NodeID: nodeID, Key: key}, keyCreated || idCreated, nil
}

func loadOrCreateKey(path string) (ed25519.PrivateKey, bool, error) {
	key, err := readKey(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("generate node key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("encode node key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	written, err := writeFileOnce(path, data, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("write node key %s: %w", path, err)
	}
	if !written {
		// Another process created it first; theirs is the key.
		key, err = readKey(path)
		return key, false, err
	}
	return key, true, nil
}

func readKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open node key: %w", err)
	}
	defer f.Close()
	if runtime.GOOS != "windows" {
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("stat node key %s: %w", path, err)
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			return nil, fmt.Errorf("node key %s has mode %#o, readable by others: run chmod 600 %s", path, perm, path)
		}
	}
	data, err := readAllLimited(f, 64<<10)
	if err != nil {
		return nil, fmt.Errorf("read node key %s: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("node key %s: no PEM PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("node key %s: %T, want an ed25519 key", path, k)
	}
	return key, nil
}

func loadOrCreateNodeID(path string) (string, bool, error) {
	nodeID, err := readNodeID(path)
	if err == nil {
		return nodeID, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	nodeID, err = newUUID()
	if err != nil {
		return "", false, err
	}
	written, err := writeFileOnce(path, []byte(nodeID+"\n"), 0o644)
	if err != nil {
		return "", false, fmt.Errorf("write node id %s: %w", path, err)
	}
	if !written {
		nodeID, err = readNodeID(path)
		return nodeID, false, err
	}
	return nodeID, true, nil
}

func readNodeID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open node id: %w", err)
	}
	defer f.Close()
	data, err := readAllLimited(f, 1024)
	if err != nil {
		return "", fmt.Errorf("read node id %s: %w", path, err)
	}
	nodeID := strings.TrimSpace(string(data))
	if err := CheckNodeID(nodeID); err != nil {
		return "", fmt.Errorf("node id file %s: %w", path, err)
	}
	return nodeID, nil
}

func readAllLimited(f *os.File, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("longer than %d bytes", limit)
	}
	return data, nil
}

// CheckNodeID reports whether s is a node id: a canonical lowercase UUID. Node ids end up
// in certificates, logs, store keys and file names, so nothing else is let through.
func CheckNodeID(s string) error {
	if len(s) != 36 {
		return fmt.Errorf("%w: %q", ErrBadNodeID, s)
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fmt.Errorf("%w: %q", ErrBadNodeID, s)
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return fmt.Errorf("%w: %q", ErrBadNodeID, s)
			}
		}
	}
	return nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("generate node id: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// writeFileOnce writes data to path atomically and only if path does not exist yet:
// the data goes to a synced temporary file that is then hard-linked into place, so a crash
// never leaves a half-written identity and two processes racing never overwrite each other.
// written is false when path already existed.
func writeFileOnce(path string, data []byte, perm os.FileMode) (written bool, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return false, err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		// Some file systems have no hard links: fall back to rename, which may replace a
		// file created in the meantime, a race only two agents sharing one directory hit.
		if _, serr := os.Lstat(path); serr == nil {
			return false, nil
		}
		if err := os.Rename(tmpName, path); err != nil {
			return false, err
		}
	}
	return true, syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Fingerprint returns "sha256:" and the lowercase hex SHA-256 of the raw 32-byte key: the
// form operators compare, pin and paste.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return fingerprintPrefix + hex.EncodeToString(sum[:])
}

// ParseFingerprint checks a fingerprint typed or pasted by an operator and returns it in
// the canonical form Fingerprint produces. Surrounding space and upper-case hex are
// accepted; the "sha256:" prefix is required so that another hash is never mistaken for it.
func ParseFingerprint(s string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) < len(fingerprintPrefix) || !strings.EqualFold(t[:len(fingerprintPrefix)], fingerprintPrefix) {
		return "", fmt.Errorf("fingerprint %q: want sha256:<64 hex digits>", s)
	}
	h := strings.ToLower(t[len(fingerprintPrefix):])
	if len(h) != 2*sha256.Size {
		return "", fmt.Errorf("fingerprint %q: %d hex digits, want %d", s, len(h), 2*sha256.Size)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("fingerprint %q: %w", s, err)
	}
	return fingerprintPrefix + h, nil
}
