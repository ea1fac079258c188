package relay

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// bucketState holds what the relay learns that is not a queue: the root's key, seen in the
// status replies it passes down, which is what signs the policies it imports.
const (
	bucketState = "state"
	keyRootKey  = "root-key"
)

// exportBatch is how many queued items one Forward frame of a bundle holds.
const exportBatch = 512

// openOffline opens a stopped relay's identity and store for the air-gap verbs. The store
// is locked while the relay runs, so the error says to stop it.
func openOffline(dataDir string) (*mesh.Identity, *store.DB, error) {
	if _, err := os.Stat(filepath.Join(dataDir, mesh.KeyFile)); err != nil {
		return nil, nil, fmt.Errorf("no relay in %s: %w", dataDir, err)
	}
	id, _, err := mesh.LoadOrCreateIdentity(dataDir)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(filepath.Join(dataDir, dbDir), store.Options{Profile: store.ProfileRelay, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, fmt.Errorf("open the relay's store (stop the relay first: its store is locked while it runs): %w", err)
	}
	return id, db, nil
}

// ExportResult says what an export wrote.
type ExportResult struct {
	BundleID string
	Items    int
	Bytes    int64
}

// ExportQueue writes everything the stopped relay in dataDir holds for its upstream into a
// signed bundle at path, for a zone whose uplink is a person carrying a file. Unless keep
// is set, the exported items leave the queue once the bundle is durable on disk; the root
// imports each bundle once and ignores items it already has, so keeping them is harmless,
// only wasteful.
func ExportQueue(dataDir, path string, keep bool) (ExportResult, error) {
	return ExportQueueProgress(dataDir, path, keep, nil)
}

// ExportQueueProgress is ExportQueue telling progress, if not nil, the items written so far
// and the items to write after each frame, for the CLI's progress bar.
func ExportQueueProgress(dataDir, path string, keep bool, progress func(done, total int)) (ExportResult, error) {
	id, db, err := openOffline(dataDir)
	if err != nil {
		return ExportResult{}, err
	}
	defer db.Close()
	q, err := db.Queue("upstream")
	if err != nil {
		return ExportResult{}, err
	}
	depth := q.Stats().Depth
	frames := (depth + exportBatch - 1) / exportBatch
	rnd := make([]byte, 8)
	if _, err := rand.Read(rnd); err != nil {
		return ExportResult{}, err
	}
	res := ExportResult{BundleID: id.NodeID + "-" + hex.EncodeToString(rnd)}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return res, err
	}
	defer f.Close()
	bw, err := wire.NewBundleWriter(f, wire.BundleHeader{
		Kind: wire.BundleQueue, Signer: id.NodeID, Created: time.Now().UTC(), Frames: uint64(frames), BundleID: res.BundleID,
	}, id.Key)
	if err != nil {
		return res, err
	}
	var after, last uint64
	for range frames {
		recs, err := q.PeekFrom(after, exportBatch)
		if err != nil {
			return res, err
		}
		fw := &wire.Forward{Items: make([]wire.Forwarded, 0, len(recs))}
		for _, rec := range recs {
			var it wire.Forwarded
			if err := it.UnmarshalBinary(rec.Data); err != nil {
				return res, fmt.Errorf("queued item %d: %w", rec.Seq, err)
			}
			it.Seq = rec.Seq
			fw.Items = append(fw.Items, it)
			last = rec.Seq
		}
		if len(recs) > 0 {
			after = recs[len(recs)-1].Seq
		}
		res.Items += len(recs)
		if err := bw.Add(fw); err != nil {
			return res, err
		}
		if progress != nil {
			progress(res.Items, depth)
		}
	}
	if err := bw.Close(); err != nil {
		return res, err
	}
	if err := f.Sync(); err != nil {
		return res, err
	}
	if st, err := f.Stat(); err == nil {
		res.Bytes = st.Size()
	}
	if !keep && last > 0 {
		if err := q.Ack(last); err != nil {
			return res, fmt.Errorf("bundle written, but the exported items are still queued: %w", err)
		}
	}
	return res, nil
}

// ImportPolicies takes a policies bundle the root exported for this relay into the stopped
// relay's policy cache, from which it serves its agents while cut off. The bundle must be
// signed by the root: the key given by fingerprint, or the one the relay learned from the
// root's replies.
func ImportPolicies(dataDir, path, rootFingerprint string) (int, error) {
	return ImportPoliciesProgress(dataDir, path, rootFingerprint, nil)
}

// ImportPoliciesProgress is ImportPolicies telling progress, if not nil, the policies
// cached so far and the bundle's count after each one, for the CLI's progress bar.
func ImportPoliciesProgress(dataDir, path, rootFingerprint string, progress func(done, total int)) (int, error) {
	id, db, err := openOffline(dataDir)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var known ed25519.PublicKey
	if b, err := db.Bucket(bucketState).Get(keyRootKey); err == nil {
		known = b
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h, msgs, err := wire.ReadBundle(bufio.NewReader(f), func(h *wire.BundleHeader) error {
		switch {
		case h.Kind != wire.BundlePolicies:
			return fmt.Errorf("a %s bundle, not a policies bundle", h.Kind)
		case h.For != id.NodeID:
			return fmt.Errorf("made for relay %s, this is relay %s", h.For, id.NodeID)
		case rootFingerprint != "":
			want, err := mesh.ParseFingerprint(rootFingerprint)
			if err != nil {
				return err
			}
			if mesh.Fingerprint(h.Key) != want {
				return fmt.Errorf("signed by %s, not by the root's key %s", mesh.Fingerprint(h.Key), want)
			}
		case known != nil:
			if !known.Equal(h.Key) {
				return fmt.Errorf("signed by %s, not by the root's key %s", mesh.Fingerprint(h.Key), mesh.Fingerprint(known))
			}
		default:
			return errors.New("the root's key is unknown to this relay; pass --root-fingerprint")
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	r := &Relay{db: db}
	n := 0
	for _, m := range msgs {
		sp, ok := m.(*wire.SignedPolicy)
		if !ok {
			return n, fmt.Errorf("bundle %s holds a %v", h.BundleID, m.Type())
		}
		p, err := sp.Open(h.Key)
		if err != nil {
			return n, fmt.Errorf("bundle %s: %w", h.BundleID, err)
		}
		if err := r.cachePolicy(p.NodeID, &wire.PolicyReply{Answer: wire.PolicyFull, Policy: sp}); err != nil {
			return n, err
		}
		n++
		if progress != nil {
			progress(n, len(msgs))
		}
	}
	return n, nil
}

// noteRootKey remembers the root's key from a status reply passing down to an agent.
func (r *Relay) noteRootKey(reply wire.Message) {
	st, ok := reply.(*wire.StatusReply)
	if !ok || len(st.RootKey) != ed25519.PublicKeySize {
		return
	}
	if b, err := r.db.Bucket(bucketState).Get(keyRootKey); err == nil && ed25519.PublicKey(b).Equal(st.RootKey) {
		return
	}
	if err := r.db.Bucket(bucketState).Put(keyRootKey, st.RootKey); err != nil {
		r.log.Warn("could not remember the root's key", "err", err)
	}
}
