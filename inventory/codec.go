package inventory

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cespare/xxhash/v2"
)

var (
	// ErrCorrupt is wrapped by every decoding error about bytes that are not an encoding
	// of ours: bad magic, bad compression, bad JSON.
	ErrCorrupt = errors.New("corrupt inventory encoding")
	// ErrTooLarge refuses input whose decompressed size exceeds MaxDecodedSize.
	ErrTooLarge = errors.New("inventory encoding too large")
	// ErrVersion refuses an encoding or a schema newer than this code knows.
	ErrVersion = errors.New("unsupported inventory encoding version")
)

// MaxDecodedSize caps the decompressed size of an encoded inventory or delta. A real
// inventory is 50–500 kB of JSON; the cap stops compression bombs.
const MaxDecodedSize = 64 << 20

// maxDecoded is MaxDecodedSize, lowered by tests so that a bomb stays cheap to build.
var maxDecoded int64 = MaxDecodedSize

// Encoding headers: two magic bytes and a format version.
var (
	magicInventory = [2]byte{'b', 'I'}
	magicDelta     = [2]byte{'b', 'D'}
)

const encodingVersion = 1

// canonicalJSON is the encoding the content hash is computed over: encoding/json with
// times in UTC (struct fields in declaration order, map keys sorted, raw JSON compacted).
func canonicalJSON(inv *Inventory) ([]byte, error) {
	c := *inv
	c.CollectedAt = c.CollectedAt.UTC()
	if !c.BootTime.IsZero() {
		c.BootTime = c.BootTime.UTC()
	}
	return json.Marshal(&c)
}

// Hash returns the xxhash64 of the canonical encoding of inv. Two inventories with the
// same content have the same hash whatever their time zones.
func Hash(inv *Inventory) (uint64, error) {
	b, err := canonicalJSON(inv)
	if err != nil {
		return 0, fmt.Errorf("hash inventory %s: %w", inv.NodeID, err)
	}
	return xxhash.Sum64(b), nil
}

// Marshal encodes a whole inventory: magic, version, then the canonical JSON compressed
// with DEFLATE.
func Marshal(inv *Inventory) ([]byte, error) {
	js, err := canonicalJSON(inv)
	if err != nil {
		return nil, fmt.Errorf("marshal inventory %s: %w", inv.NodeID, err)
	}
	var buf bytes.Buffer
	buf.Write(magicInventory[:])
	buf.WriteByte(encodingVersion)
	if err := deflate(&buf, js); err != nil {
		return nil, fmt.Errorf("marshal inventory %s: %w", inv.NodeID, err)
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes what Marshal encoded.
func Unmarshal(b []byte) (*Inventory, error) {
	if len(b) < 3 || [2]byte(b[:2]) != magicInventory {
		return nil, fmt.Errorf("unmarshal inventory: bad magic: %w", ErrCorrupt)
	}
	if b[2] != encodingVersion {
		return nil, fmt.Errorf("unmarshal inventory: encoding version %d: %w", b[2], ErrVersion)
	}
	js, err := inflate(b[3:])
	if err != nil {
		return nil, fmt.Errorf("unmarshal inventory: %w", err)
	}
	return decodeInventoryJSON(js)
}

func decodeInventoryJSON(js []byte) (*Inventory, error) {
	var inv Inventory
	if err := json.Unmarshal(js, &inv); err != nil {
		return nil, fmt.Errorf("unmarshal inventory: %v: %w", err, ErrCorrupt)
	}
	if inv.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("unmarshal inventory %s: schema %d, this code knows %d: %w",
			inv.NodeID, inv.SchemaVersion, SchemaVersion, ErrVersion)
	}
	return &inv, nil
}

func deflate(w io.Writer, b []byte) error {
	fw, err := flate.NewWriter(w, flate.BestCompression)
	if err != nil {
		return err
	}
	if _, err := fw.Write(b); err != nil {
		return err
	}
	return fw.Close()
}

// inflate decompresses b, refusing more than MaxDecodedSize bytes of output.
func inflate(b []byte) ([]byte, error) {
	fr := flate.NewReader(bytes.NewReader(b))
	defer fr.Close()
	out, err := io.ReadAll(io.LimitReader(fr, maxDecoded+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %v: %w", err, ErrCorrupt)
	}
	if int64(len(out)) > maxDecoded {
		return nil, fmt.Errorf("inflate: over %d bytes: %w", maxDecoded, ErrTooLarge)
	}
	return out, nil
}

// DecodeJSON returns the canonical JSON an encoded inventory holds, without decoding it
// into an Inventory: for readers that want the document (facts), not the struct.
func DecodeJSON(b []byte) ([]byte, error) {
	if len(b) < 3 || [2]byte(b[:2]) != magicInventory {
		return nil, fmt.Errorf("decode inventory: bad magic: %w", ErrCorrupt)
	}
	if b[2] != encodingVersion {
		return nil, fmt.Errorf("decode inventory: encoding version %d: %w", b[2], ErrVersion)
	}
	js, err := inflate(b[3:])
	if err != nil {
		return nil, fmt.Errorf("decode inventory: %w", err)
	}
	return js, nil
}
