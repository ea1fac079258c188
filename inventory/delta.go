package inventory

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

var (
	// ErrDeltaBase refuses a delta computed against another inventory than the one given to
	// Apply: the sender must send a full inventory or a delta against what the root holds.
	ErrDeltaBase = errors.New("delta base does not match the inventory held")
	// ErrDeltaResult means applying the delta did not produce the inventory the sender had.
	ErrDeltaResult = errors.New("delta result does not match its hash")
)

// Delta turns one inventory into the next.
//
// Granularity, measured on a Debian 12 machine (703 packages, 136 updates; 110 kB of
// canonical JSON, 12.6 kB as Marshal encodes it): a top-level section is replaced whole
// when it changed, which is cheap for every section but the software list, so software
// goes package by package. An unchanged inventory (only the collection time moved)
// encodes in 29 bytes; one upgraded package in 143 bytes, against 9.3 kB when the
// whole software section is sent.
type Delta struct {
	// Base and Result are the Hash of the old and the new inventory.
	Base, Result uint64
	CollectedAt  time.Time
	// Sections holds the new JSON of each top-level field that changed, by its JSON name;
	// JSON null removes the field.
	Sections map[string]json.RawMessage
	// SoftwareAdded and SoftwareRemoved change the software list package by package, as a
	// multiset: a package appearing twice must be removed twice.
	SoftwareAdded   []Package
	SoftwareRemoved []Package
}

// Unchanged reports whether the delta only moves the collection time.
func (d *Delta) Unchanged() bool {
	return len(d.Sections) == 0 && len(d.SoftwareAdded) == 0 && len(d.SoftwareRemoved) == 0
}

// sectionsOf splits the canonical JSON of inv into its top-level fields.
func sectionsOf(inv *Inventory) (map[string]json.RawMessage, error) {
	b, err := canonicalJSON(inv)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// Diff computes the delta that turns old into new.
func Diff(old, new *Inventory) (*Delta, error) {
	om, err := sectionsOf(old)
	if err != nil {
		return nil, fmt.Errorf("diff inventory %s: %w", old.NodeID, err)
	}
	nm, err := sectionsOf(new)
	if err != nil {
		return nil, fmt.Errorf("diff inventory %s: %w", new.NodeID, err)
	}
	d := &Delta{CollectedAt: new.CollectedAt.UTC()}
	if d.Base, err = Hash(old); err != nil {
		return nil, err
	}
	if d.Result, err = Hash(new); err != nil {
		return nil, err
	}
	set := func(k string, v json.RawMessage) {
		if d.Sections == nil {
			d.Sections = make(map[string]json.RawMessage)
		}
		d.Sections[k] = v
	}
	for k, nv := range nm {
		if k == "collected_at" || k == "software" {
			continue
		}
		if ov, ok := om[k]; !ok || !bytes.Equal(ov, nv) {
			set(k, nv)
		}
	}
	for k := range om {
		if _, ok := nm[k]; !ok && k != "collected_at" && k != "software" {
			set(k, json.RawMessage("null"))
		}
	}
	if !bytes.Equal(om["software"], nm["software"]) {
		if sort.SliceIsSorted(new.Software, func(i, j int) bool { return packageLess(&new.Software[i], &new.Software[j]) }) {
			d.SoftwareAdded, d.SoftwareRemoved = diffPackages(old.Software, new.Software)
		}
		if len(d.SoftwareAdded) == 0 && len(d.SoftwareRemoved) == 0 {
			// Apply sorts what it rebuilds; an unsorted list can only be sent whole.
			v := nm["software"]
			if v == nil {
				v = json.RawMessage("null")
			}
			set("software", v)
		}
	}
	return d, nil
}

// diffPackages returns the multiset differences new−old and old−new, sorted.
func diffPackages(old, new []Package) (added, removed []Package) {
	count := make(map[Package]int, len(old))
	for _, p := range old {
		count[p]++
	}
	for _, p := range new {
		if count[p] > 0 {
			count[p]--
			continue
		}
		added = append(added, p)
	}
	for _, p := range old {
		if count[p] > 0 {
			count[p]--
			removed = append(removed, p)
		}
	}
	sortPackages(added)
	sortPackages(removed)
	return added, removed
}

// Apply returns the inventory the delta was computed for. It refuses, with ErrDeltaBase, a
// delta whose base is not old, and with ErrDeltaResult one that does not rebuild the
// sender's inventory exactly. old is not modified.
func (d *Delta) Apply(old *Inventory) (*Inventory, error) {
	h, err := Hash(old)
	if err != nil {
		return nil, err
	}
	if h != d.Base {
		return nil, fmt.Errorf("apply delta to inventory %s: base %016x, held %016x: %w", old.NodeID, d.Base, h, ErrDeltaBase)
	}
	m, err := sectionsOf(old)
	if err != nil {
		return nil, fmt.Errorf("apply delta to inventory %s: %w", old.NodeID, err)
	}
	for k, v := range d.Sections {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	ts, err := json.Marshal(d.CollectedAt.UTC())
	if err != nil {
		return nil, fmt.Errorf("apply delta to inventory %s: %w", old.NodeID, err)
	}
	m["collected_at"] = ts
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("apply delta to inventory %s: %v: %w", old.NodeID, err, ErrCorrupt)
	}
	inv, err := decodeInventoryJSON(js)
	if err != nil {
		return nil, err
	}
	if len(d.SoftwareAdded) > 0 || len(d.SoftwareRemoved) > 0 {
		sw, err := applyPackages(inv.Software, d.SoftwareAdded, d.SoftwareRemoved)
		if err != nil {
			return nil, fmt.Errorf("apply delta to inventory %s: %w", old.NodeID, err)
		}
		inv.Software = sw
	}
	if h, err := Hash(inv); err != nil {
		return nil, err
	} else if h != d.Result {
		return nil, fmt.Errorf("apply delta to inventory %s: got %016x, want %016x: %w", old.NodeID, h, d.Result, ErrDeltaResult)
	}
	return inv, nil
}

func applyPackages(sw, added, removed []Package) ([]Package, error) {
	drop := make(map[Package]int, len(removed))
	for _, p := range removed {
		drop[p]++
	}
	out := make([]Package, 0, len(sw)+len(added))
	for _, p := range sw {
		if drop[p] > 0 {
			drop[p]--
			continue
		}
		out = append(out, p)
	}
	for p, n := range drop {
		if n > 0 {
			return nil, fmt.Errorf("remove package %s %s: not installed: %w", p.Name, p.Version, ErrDeltaBase)
		}
	}
	out = append(out, added...)
	sortPackages(out)
	if len(out) == 0 {
		out = nil
	}
	return out, nil
}

// deltaBody is the compressed part of an encoded delta.
type deltaBody struct {
	Sections map[string]json.RawMessage `json:"s,omitempty"`
	Added    []Package                  `json:"a,omitempty"`
	Removed  []Package                  `json:"r,omitempty"`
}

// MarshalDelta encodes d: magic "bD", version, base and result hashes (8 bytes each, big
// endian), the collection time as a varint of Unix nanoseconds, then a flag byte: 0 for no
// change, 1 for a DEFLATE-compressed JSON body with the changes.
func MarshalDelta(d *Delta) ([]byte, error) {
	b := make([]byte, 0, 32)
	b = append(b, magicDelta[:]...)
	b = append(b, encodingVersion)
	b = binary.BigEndian.AppendUint64(b, d.Base)
	b = binary.BigEndian.AppendUint64(b, d.Result)
	b = binary.AppendVarint(b, d.CollectedAt.UnixNano())
	if d.Unchanged() {
		return append(b, 0), nil
	}
	js, err := json.Marshal(deltaBody{Sections: d.Sections, Added: d.SoftwareAdded, Removed: d.SoftwareRemoved})
	if err != nil {
		return nil, fmt.Errorf("marshal delta: %w", err)
	}
	buf := bytes.NewBuffer(append(b, 1))
	if err := deflate(buf, js); err != nil {
		return nil, fmt.Errorf("marshal delta: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalDelta decodes what MarshalDelta encoded.
func UnmarshalDelta(b []byte) (*Delta, error) {
	if len(b) < 3 || [2]byte(b[:2]) != magicDelta {
		return nil, fmt.Errorf("unmarshal delta: bad magic: %w", ErrCorrupt)
	}
	if b[2] != encodingVersion {
		return nil, fmt.Errorf("unmarshal delta: encoding version %d: %w", b[2], ErrVersion)
	}
	b = b[3:]
	if len(b) < 16 {
		return nil, fmt.Errorf("unmarshal delta: truncated header: %w", ErrCorrupt)
	}
	d := &Delta{Base: binary.BigEndian.Uint64(b), Result: binary.BigEndian.Uint64(b[8:])}
	b = b[16:]
	ns, n := binary.Varint(b)
	if n <= 0 {
		return nil, fmt.Errorf("unmarshal delta: bad collection time: %w", ErrCorrupt)
	}
	d.CollectedAt = time.Unix(0, ns).UTC()
	b = b[n:]
	if len(b) == 0 {
		return nil, fmt.Errorf("unmarshal delta: missing body flag: %w", ErrCorrupt)
	}
	switch b[0] {
	case 0:
		if len(b) != 1 {
			return nil, fmt.Errorf("unmarshal delta: %d trailing bytes: %w", len(b)-1, ErrCorrupt)
		}
		return d, nil
	case 1:
	default:
		return nil, fmt.Errorf("unmarshal delta: body flag %d: %w", b[0], ErrCorrupt)
	}
	js, err := inflate(b[1:])
	if err != nil {
		return nil, fmt.Errorf("unmarshal delta: %w", err)
	}
	var body deltaBody
	if err := json.Unmarshal(js, &body); err != nil {
		return nil, fmt.Errorf("unmarshal delta: %v: %w", err, ErrCorrupt)
	}
	for k, v := range body.Sections {
		if !json.Valid(v) {
			return nil, fmt.Errorf("unmarshal delta: section %q: %w", k, ErrCorrupt)
		}
	}
	if _, ok := body.Sections["software"]; ok && (len(body.Added) > 0 || len(body.Removed) > 0) {
		return nil, fmt.Errorf("unmarshal delta: software both replaced and patched: %w", ErrCorrupt)
	}
	d.Sections, d.SoftwareAdded, d.SoftwareRemoved = body.Sections, body.Added, body.Removed
	return d, nil
}
