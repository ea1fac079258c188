package relay

import (
	"context"
	"errors"
	"fmt"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// bucketFiles caches the shared files the zone's nodes fetched, as the root signed them,
// by path: served while the relay is cut off from its upstream.
const bucketFiles = "files"

// sharedFile answers a node's request for a shared file: from upstream when it answers
// (caching the signed file), from the cache when it does not.
func (h *handler) sharedFile(ctx context.Context, peer mesh.Peer, req *wire.FileRequest) wire.Message {
	q, err := req.Peek()
	if ack := h.fromPeer(peer, "file request", q.NodeID, err, req.Verify); ack != nil {
		return ack
	}
	reply := h.askUp(ctx, peer, req)
	switch m := reply.(type) {
	case *wire.FileReply:
		if err := h.r.cacheFile(q.Path, m); err != nil {
			h.r.log.Warn("file cache update failed", "path", q.Path, "err", err)
		}
		return m
	case *wire.Ack:
		if m.Status != wire.AckRetryLater {
			return m
		}
		cached, hash, err := h.r.cachedFile(q.Path)
		if err != nil || cached == nil {
			return m
		}
		h.r.log.Debug("upstream unreachable; shared file served from the cache", "path", q.Path)
		if hash == q.HaveHash {
			return &wire.FileReply{Unchanged: true}
		}
		return cached
	}
	return reply
}

func (r *Relay) cacheFile(path string, reply *wire.FileReply) error {
	switch {
	case reply.Unchanged:
		return nil
	case reply.NotFound:
		if err := r.db.Bucket(bucketFiles).Delete(path); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	b, err := wire.AppendFrame(nil, reply)
	if err != nil {
		return err
	}
	return r.db.Bucket(bucketFiles).Put(path, b)
}

// cachedFile returns the cached reply for a path and the hash it carries, nil when none.
// The relay does not check the root's signature: the node does.
func (r *Relay) cachedFile(path string) (*wire.FileReply, string, error) {
	b, err := r.db.Bucket(bucketFiles).Get(path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	m, _, err := wire.DecodeFrame(b, wire.MaxFrameSize)
	if err != nil {
		return nil, "", err
	}
	fr, ok := m.(*wire.FileReply)
	if !ok {
		return nil, "", fmt.Errorf("cached file %s is a %v", path, m.Type())
	}
	hash := ""
	if f, err := wire.PeekSharedFileHash(fr.File); err == nil {
		hash = f
	}
	return fr, hash, nil
}
