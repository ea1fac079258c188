package mesh

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ErrPinMismatch is returned when a server offers another key than the one pinned.
var ErrPinMismatch = errors.New("server key does not match the pinned key")

// FilePin returns a PeerPolicy that pins a server's key in a file, for agents and relays
// dialing their policy server. With an expected fingerprint (given by the operator) only
// that key is taken; without one, the first key seen is pinned and logged loudly, and every
// later connection must offer the same key. Removing the file is the operator's way to
// re-pin after a deliberate key change.
func FilePin(path, expectedFingerprint string, log *slog.Logger) PeerPolicy {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if fp, err := ParseFingerprint(expectedFingerprint); err == nil {
		expectedFingerprint = fp
	}
	var mu sync.Mutex
	return func(p Peer) error {
		mu.Lock()
		defer mu.Unlock()
		fp := Fingerprint(p.Key)
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			pinned := strings.TrimSpace(string(b))
			if pinned != fp {
				return fmt.Errorf("%w: %s pinned %s, %v offered %s; if the server's key changed on purpose, remove %s",
					ErrPinMismatch, path, pinned, p.Addr, fp, path)
			}
			return nil
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("read pinned key: %w", err)
		}
		if expectedFingerprint != "" && expectedFingerprint != fp {
			return fmt.Errorf("%w: expected %s, %v offered %s", ErrPinMismatch, expectedFingerprint, p.Addr, fp)
		}
		if expectedFingerprint == "" {
			log.Warn("pinning the server's key on first use; pass its fingerprint to avoid trusting the first answer",
				"server", p.NodeID, "addr", p.Addr, "fingerprint", fp)
		}
		if err := writePin(path, fp); err != nil {
			return fmt.Errorf("pin server key: %w", err)
		}
		return nil
	}
}

func writePin(path, fp string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pin.tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(fp + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
