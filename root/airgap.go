package root

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

const bucketBundles = "bundles" // bundle id → bundleRecord: imported once, then ignored

// maxBundleBytes bounds an uploaded bundle: a week of a large zone's reports.
const maxBundleBytes = 16 << 30

type bundleRecord struct {
	Imported time.Time `json:"imported"`
	By       string    `json:"by"`
	Relay    string    `json:"relay"`
	Items    int       `json:"items"`
}

var errBundleBusy = errors.New("the root is busy; import the same bundle again later (what was taken is not taken twice)")

// importBundle ingests a queue bundle a relay exported, exactly once: the items go through
// the same path as a relay's forwarding, and the bundle id is recorded, so importing the
// file again changes nothing.
func (r *Root) importBundle(body io.Reader, by string) (api.ImportResult, error) {
	var signer nodeRecord
	h, msgs, err := wire.ReadBundle(body, func(h *wire.BundleHeader) error {
		if h.Kind != wire.BundleQueue {
			return fmt.Errorf("a %s bundle; the root imports queue bundles", h.Kind)
		}
		rec, err := r.reg.record(h.Signer)
		if err != nil {
			return fmt.Errorf("signed by %s, which the root does not know: %w", h.Signer, err)
		}
		if rec.Role != wire.RoleRelay.String() || !rec.Key.Equal(h.Key) {
			return fmt.Errorf("signed by %s with key %s, which is not that relay's key", h.Signer, mesh.Fingerprint(h.Key))
		}
		signer = rec
		return nil
	})
	if err != nil {
		return api.ImportResult{}, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	res := api.ImportResult{SchemaVersion: api.SchemaVersion, BundleID: h.BundleID, Relay: h.Signer}
	if _, err := r.db.Bucket(bucketBundles).Get(h.BundleID); err == nil {
		res.AlreadyImported = true
		return res, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	peer := mesh.Peer{NodeID: signer.ID, Key: signer.Key}
	for _, m := range msgs {
		fw, ok := m.(*wire.Forward)
		if !ok {
			return res, fmt.Errorf("%w: bundle %s holds a %v", api.ErrBadRequest, h.BundleID, m.Type())
		}
		ack, _ := r.handler.forward(peer, fw).(*wire.Ack)
		if ack == nil || ack.Status != wire.AckOK {
			return res, errBundleBusy
		}
		res.Items += len(fw.Items)
	}
	b, _ := json.Marshal(bundleRecord{Imported: r.cfg.Now().UTC(), By: by, Relay: h.Signer, Items: res.Items})
	if err := r.db.Bucket(bucketBundles).Put(h.BundleID, b); err != nil {
		return res, err
	}
	r.log.Info("bundle imported", "bundle", h.BundleID, "relay", h.Signer, "items", res.Items, "by", by)
	return res, nil
}

// exportPolicies writes the signed policies of every node behind a relay into a bundle the
// relay imports while cut off.
func (r *Root) exportPolicies(relayID string, w io.Writer) (int, error) {
	relay, err := r.reg.record(relayID)
	if err != nil {
		return 0, err
	}
	if relay.Role != wire.RoleRelay.String() {
		return 0, fmt.Errorf("%w: node %s is not a relay", api.ErrBadRequest, relayID)
	}
	var policies []*wire.SignedPolicy
	err = r.db.Bucket(bucketNodes).Scan("", func(_ string, v []byte) error {
		var rec nodeRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if rec.Status != api.StatusAccepted || !slices.Contains(rec.Path, relayID) {
			return nil
		}
		sp, err := r.pol.signedPolicy(rec.ID)
		if err != nil || sp == nil {
			return err
		}
		policies = append(policies, sp)
		return nil
	})
	if err != nil {
		return 0, err
	}
	bw, err := wire.NewBundleWriter(w, wire.BundleHeader{
		Kind: wire.BundlePolicies, Signer: r.id.NodeID, For: relayID, Created: r.cfg.Now().UTC(),
		Frames: uint64(len(policies)), BundleID: fmt.Sprintf("%s-policies-%d", relayID, r.cfg.Now().UnixNano()),
	}, r.id.Key)
	if err != nil {
		return 0, err
	}
	for _, sp := range policies {
		if err := bw.Add(sp); err != nil {
			return 0, err
		}
	}
	return len(policies), bw.Close()
}

func (r *Root) airgapRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("POST /api/v1/bundles", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		res, err := r.importBundle(io.LimitReader(req.Body, maxBundleBytes), p.Name)
		switch {
		case errors.Is(err, api.ErrBadRequest):
			api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
		case errors.Is(err, errBundleBusy):
			api.Fail(w, http.StatusServiceUnavailable, api.CodeUnavailable, err.Error())
		case err != nil:
			api.Fail(w, http.StatusInternalServerError, api.CodeInternal, err.Error())
		default:
			api.Reply(w, res)
		}
	})
	route("GET /api/v1/relays/{id}/policies-bundle", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		var buf bytes.Buffer
		n, err := r.exportPolicies(req.PathValue("id"), &buf)
		if err != nil {
			code, name := api.StatusOf(err)
			api.Fail(w, code, name, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Bosun-Policies", fmt.Sprint(n))
		_, _ = w.Write(buf.Bytes())
	})
}
