package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// sharedFilesDir holds the shared files the policy uses, as the root signed them; the
// methods read file_from_shared_folder's source there.
const sharedFilesDir = "shared-files"

// SyncSharedFiles fetches the shared files the policy's components use that the agent
// lacks or holds an old copy of. A file that cannot be had now keeps its last copy: the
// method reports what it finds.
func (a *Agent) SyncSharedFiles(ctx context.Context, p *wire.AppliedPolicy) error {
	root := a.rootKey()
	if p == nil || root == nil {
		return nil
	}
	var errs []error
	seen := map[string]bool{}
	for _, c := range p.Components {
		if c.Method != "file_from_shared_folder" {
			continue
		}
		for _, prm := range c.Params {
			if prm.Name != "source" || seen[prm.Value] {
				continue
			}
			seen[prm.Value] = true
			if err := a.fetchSharedFile(ctx, prm.Value); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (a *Agent) fetchSharedFile(ctx context.Context, source string) error {
	clean := path.Clean("/" + source)[1:]
	if clean == "" {
		return fmt.Errorf("shared file %q: empty path", source)
	}
	local := filepath.Join(a.cfg.DataDir, sharedFilesDir, filepath.FromSlash(clean))
	have := ""
	if b, err := os.ReadFile(local); err == nil {
		sum := sha256.Sum256(b)
		have = hex.EncodeToString(sum[:])
	}
	req := wire.NewFileRequest(wire.FileQuery{NodeID: a.id.NodeID, Path: clean, HaveHash: have, Time: a.cfg.Now().UTC()}, a.id.Key)
	reply, _, err := a.client.Exchange(ctx, a.server(), req)
	if err != nil {
		return fmt.Errorf("shared file %s: %w", clean, err)
	}
	var fr *wire.FileReply
	switch m := reply.(type) {
	case *wire.FileReply:
		fr = m
	case *wire.Ack:
		return fmt.Errorf("shared file %s: %w", clean, m.Err())
	default:
		return fmt.Errorf("shared file %s: answered with %v", clean, reply.Type())
	}
	switch {
	case fr.Unchanged:
		return nil
	case fr.NotFound:
		return fmt.Errorf("shared file %s: not on the root", clean)
	}
	f, err := wire.OpenSharedFile(fr.File, a.rootKey())
	if err != nil {
		return fmt.Errorf("shared file %s refused: %w", clean, err)
	}
	sum := sha256.Sum256(f.Content)
	if f.Path != clean || f.Hash != hex.EncodeToString(sum[:]) {
		return fmt.Errorf("shared file %s refused: the root's answer is for %s or does not match its hash", clean, f.Path)
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o700); err != nil {
		return err
	}
	if err := store.WriteFileAtomic(local, f.Content, 0o600); err != nil {
		return fmt.Errorf("shared file %s: %w", clean, err)
	}
	a.log.Info("shared file received", "path", clean, "bytes", len(f.Content))
	return nil
}
