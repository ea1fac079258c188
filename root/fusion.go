package root

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
)

// bucketInventoryOnly holds what the root pins of a node known only from imported
// inventories: node id → inventoryOnlyRecord.
const bucketInventoryOnly = "inventory-only"

// ErrInventoryUnauthorized refuses an imported inventory whose signature is missing where
// signatures are required, does not verify, or was made by another key than the one
// pinned for its node; or one that claims the id of a node with a bosun agent. HTTP 401.
// It wraps ErrInventoryRefused.
var ErrInventoryUnauthorized = fmt.Errorf("%w: not authenticated", ErrInventoryRefused)

// maxImportBytes caps an imported inventory as it arrives (compressed or not) and once
// decompressed: real ones are a few hundred kilobytes, Windows ones with many updates a few
// megabytes.
const maxImportBytes = 32 << 20

// inventoryOnlyRecord is what the root pins of a node without a bosun agent.
type inventoryOnlyRecord struct {
	// CertFingerprint is the SHA-256 (hex) of the public key of the Rudder agent's
	// certificate the node's first inventory carried; later inventories must carry the
	// same one. Empty for FusionInventory nodes, which have no key.
	CertFingerprint string `json:"certFingerprint,omitempty"`
	// Signed is true once an inventory of the node came with a signature that verified:
	// from then on its inventories must be signed.
	Signed   bool   `json:"signed,omitempty"`
	DeviceID string `json:"deviceId,omitempty"`
	Agent    string `json:"agent,omitempty"`
}

func unauthorized(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInventoryUnauthorized, fmt.Sprintf(format, args...))
}

// importResult is what ingestImport made of an inventory.
type importResult struct {
	inv    *inventory.Inventory
	stored bool
	signed bool
}

// ingestImport takes an inventory written by another agent (FusionInventory, GLPI, a
// Rudder agent), with its rudder-signature-v1 signature if sig is not nil. from says where
// it came from, for the log. It only ever creates pending inventory-only nodes or updates
// them: an accepted node's key and status are never touched, and a node with a bosun
// agent cannot be claimed.
func (r *Root) ingestImport(raw, sig []byte, from string) (importResult, error) {
	release, ok := r.ingestQ.tryAcquire()
	if !ok {
		return importResult{}, ErrQueueSaturated
	}
	defer release()
	res, err := r.importInventory(raw, sig)
	if err != nil {
		r.log.Warn("inventory refused", "from", from, "err", err)
		return res, err
	}
	r.log.Info("inventory imported", "from", from, "node", res.inv.NodeID, "hostname", res.inv.Hostname,
		"inventory_only", res.inv.InventoryOnly, "signed", res.signed, "stored", res.stored)
	return res, nil
}

func (r *Root) importInventory(raw, sig []byte) (importResult, error) {
	if len(raw) > maxImportBytes {
		return importResult{}, refused("inventory of %d bytes, over the %d accepted: %v", len(raw), maxImportBytes, inventory.ErrTooLarge)
	}
	limits := inventory.Limits{MaxInputBytes: maxImportBytes, MaxDecompressedBytes: maxImportBytes}
	inv, ri, err := inventory.ParseFusion(bytes.NewReader(raw), limits)
	if err != nil {
		return importResult{}, refused("%v", err)
	}
	res := importResult{inv: inv}

	var cert string
	if ri != nil {
		cert = ri.AgentCert
		if cert == "" {
			cert = ri.AgentKey
		}
	}
	switch {
	case sig != nil && cert == "":
		return res, unauthorized("node %s: a signature came with an inventory that carries no agent certificate to verify it", inv.NodeID)
	case sig != nil:
		if err := verifyImport(raw, sig, cert); err != nil {
			return res, unauthorized("node %s: %v", inv.NodeID, err)
		}
		res.signed = true
	case r.cfg.RequireInventorySignature:
		return res, unauthorized("node %s: this root requires signed inventories and none came with it", inv.NodeID)
	}
	if err := inventory.CheckTime(inv.CollectedAt, r.cfg.Now()); err != nil {
		return res, refused("node %s: %v", inv.NodeID, err)
	}

	// Check the claim before storing, so that a refused inventory is told so even when it
	// is older than the stored one; the transaction below checks again.
	if err := r.db.Update(func(tx *store.Txn) error {
		_, _, err := checkImportClaim(tx, inv, res.signed)
		return err
	}); err != nil {
		return res, err
	}
	hash, err := inventory.Hash(inv)
	if err != nil {
		return res, err
	}
	var saved *nodeRecord
	res.stored, err = r.inv.put(inv, func(tx *store.Txn) error {
		saved = nil
		rec, pin, err := checkImportClaim(tx, inv, res.signed)
		if err != nil {
			return err
		}
		now := r.cfg.Now()
		if rec.ID == "" {
			rec.ID = inv.NodeID
			rec.Role = api.NodeRoleInventory
			rec.Status = api.StatusPending
			rec.FirstSeen = now
			rec.StatusChanged = now
		}
		if ri != nil {
			pin.CertFingerprint = inv.Agent.KeyFingerprint
			rec.KeyFingerprint = "sha256:" + inv.Agent.KeyFingerprint
			rec.PolicyServer = ri.PolicyServerHostname
		}
		pin.Signed = pin.Signed || res.signed
		pin.Agent = inv.Agent.Name
		rec.Hostname = inv.Hostname
		rec.OS = osLabel(inv.OS)
		rec.SoftwareVersion = inv.Agent.Name + " " + inv.Agent.Version
		rec.LastInventory = inv.CollectedAt
		rec.InventoryHash = hash
		rec.LastSeen = now
		b, err := json.Marshal(pin)
		if err != nil {
			return err
		}
		if err := tx.Put(bucketInventoryOnly, inv.NodeID, b); err != nil {
			return err
		}
		saved = &rec
		return txPut(tx, rec)
	})
	if err != nil {
		return res, fmt.Errorf("store inventory of %s: %w", inv.NodeID, err)
	}
	if saved != nil {
		r.reg.note(saved)
	}
	if res.stored && r.reg.changed != nil {
		r.reg.changed(inv.NodeID)
	}
	return res, nil
}

// checkImportClaim returns the node an imported inventory updates (a zero record for a new
// one) and its pin, or why the inventory may not update it.
func checkImportClaim(tx *store.Txn, inv *inventory.Inventory, signed bool) (nodeRecord, inventoryOnlyRecord, error) {
	rec, ok, err := txRecord(tx, inv.NodeID)
	if err != nil {
		return nodeRecord{}, inventoryOnlyRecord{}, err
	}
	var pin inventoryOnlyRecord
	if !ok {
		return rec, pin, nil
	}
	if len(rec.Key) > 0 {
		return rec, pin, unauthorized("node %s has a bosun agent (key %s): an imported inventory cannot stand for it", inv.NodeID, rec.KeyFingerprint)
	}
	if rec.Status == api.StatusRefused || rec.Status == api.StatusDeleted {
		return rec, pin, unauthorized("node %s was %s by an operator", inv.NodeID, rec.Status)
	}
	b, err := tx.Get(bucketInventoryOnly, inv.NodeID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return rec, pin, err
	default:
		if err := json.Unmarshal(b, &pin); err != nil {
			return rec, pin, fmt.Errorf("node %s: decode pin: %w", inv.NodeID, err)
		}
	}
	if pin.CertFingerprint != "" && pin.CertFingerprint != inv.Agent.KeyFingerprint {
		got := inv.Agent.KeyFingerprint
		if got == "" {
			got = "none"
		}
		return rec, pin, unauthorized("node %s: the inventory carries agent key %s, the node's pinned key is %s; delete the node to let a new key in", inv.NodeID, got, pin.CertFingerprint)
	}
	if pin.Signed && !signed {
		return rec, pin, unauthorized("node %s sent signed inventories before: an unsigned one is not taken", inv.NodeID)
	}
	return rec, pin, nil
}

// verifyImport checks a Rudder signature over the inventory as sent, then, for a gzipped
// inventory, over its decompressed bytes: agents sign the file they wrote, before or after
// compressing it.
func verifyImport(raw, sig []byte, cert string) error {
	err := inventory.VerifyRudderSignature(raw, sig, cert)
	if err == nil || !isGzip(raw) {
		return err
	}
	zr, zerr := gzip.NewReader(bytes.NewReader(raw))
	if zerr != nil {
		return err
	}
	plain, zerr := io.ReadAll(io.LimitReader(zr, maxImportBytes))
	if zerr != nil {
		return err
	}
	return inventory.VerifyRudderSignature(plain, sig, cert)
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// importStatus maps an import error to its HTTP answer: 401 for authentication, 412 for an
// inventory refused as it is, 413 for one too large, 503 when the queue is saturated.
func importStatus(err error) (int, string) {
	switch {
	case errors.Is(err, ErrQueueSaturated):
		return 503, api.CodeSaturated
	case errors.Is(err, ErrInventoryUnauthorized):
		return 401, api.CodeUnauthorized
	case errors.Is(err, inventory.ErrTooLarge):
		return 413, api.CodeTooLarge
	case errors.Is(err, ErrInventoryRefused):
		return 412, api.CodeInventoryRefused
	}
	return 500, api.CodeInternal
}

// dropIngest is how the drop directory watcher hands over an inventory.
func (r *Root) dropIngest(raw, sig []byte, from string) error {
	_, err := r.ingestImport(raw, sig, from)
	return err
}
