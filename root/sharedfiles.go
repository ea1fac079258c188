package root

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

// sharedFile answers a node's request for a file of the shared files directory, which the
// root signs so that relays caching it cannot alter it.
func (r *Root) sharedFile(req *wire.FileRequest, direct *mesh.Peer) (*wire.FileReply, error) {
	q, err := req.Peek()
	rec, err := r.verifiedSigner(q.NodeID, err, direct, req.Verify)
	if err != nil {
		return nil, err
	}
	if rec.Status != api.StatusAccepted {
		return nil, refused("node %s is %s; only accepted nodes get shared files", rec.ID, rec.Status)
	}
	clean := path.Clean("/" + q.Path)[1:] // no way out of the directory, whatever the request says
	if clean == "" || strings.HasPrefix(clean, "..") {
		return nil, refused("shared file %q: not a path inside the shared files directory", q.Path)
	}
	f, err := os.Open(filepath.Join(r.cfg.SharedFilesDir, filepath.FromSlash(clean)))
	if errors.Is(err, os.ErrNotExist) {
		return &wire.FileReply{NotFound: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("shared file %s: %w", clean, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return &wire.FileReply{NotFound: true}, nil
	}
	content, err := io.ReadAll(io.LimitReader(f, wire.MaxSharedFile+1))
	if err != nil {
		return nil, fmt.Errorf("shared file %s: %w", clean, err)
	}
	if len(content) > wire.MaxSharedFile {
		return nil, refused("shared file %s is over %d bytes", clean, wire.MaxSharedFile)
	}
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])
	if hash == q.HaveHash {
		return &wire.FileReply{Unchanged: true}, nil
	}
	return &wire.FileReply{File: wire.SignSharedFile(wire.SharedFile{Path: clean, Hash: hash, Content: content}, r.id.Key)}, nil
}
