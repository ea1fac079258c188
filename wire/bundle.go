package wire

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// A bundle carries frames across an air gap in a file: what a relay queued for its
// upstream (bosun relay export), or the policies of a relay's nodes (bosun root
// export-policies). It is the magic line, a signed BundleHeader frame, the content frames,
// and a trailer frame with the signer's signature over the SHA-256 of everything before
// it, so a bundle cut short or altered on the way is refused whole.

// bundleMagic starts every bundle file, so that `file` and people recognise one.
const bundleMagic = "bosun-bundle 1\n"

// Bundle kinds.
const (
	BundleQueue    = "queue"    // Forward frames, from a relay to the root
	BundlePolicies = "policies" // SignedPolicy frames, from the root to a relay
)

// ErrBadBundle is returned for a bundle that is truncated, altered or malformed.
var ErrBadBundle = errors.New("wire: bad bundle")

// BundleHeader says what a bundle holds and who made it.
type BundleHeader struct {
	Kind     string
	Signer   string // node id of the relay or root that made it
	For      string // the relay a policies bundle is for
	Key      ed25519.PublicKey
	Created  time.Time
	Frames   uint64
	BundleID string // unique per bundle: the root imports each once
}

func (h *BundleHeader) Type() Type { return TypeBundleHeader }

func (h *BundleHeader) AppendBinary(b []byte) ([]byte, error) {
	b = appendString(b, h.Kind)
	b = appendString(b, h.Signer)
	b = appendString(b, h.For)
	b = appendBytes(b, h.Key)
	b = appendTime(b, h.Created)
	b = appendUvarint(b, h.Frames)
	return appendString(b, h.BundleID), nil
}

func (h *BundleHeader) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	*h = BundleHeader{
		Kind:     d.string("kind", maxNameLen),
		Signer:   d.string("signer", maxIDLen),
		For:      d.string("for", maxIDLen),
		Key:      cloneBytes(d.bytes("key", maxKeyLen)),
		Created:  d.time("created"),
		Frames:   d.uvarint("frames"),
		BundleID: d.string("bundle id", maxIDLen),
	}
	return d.err
}

// BundleTrailer closes a bundle with its signature.
type BundleTrailer struct {
	Sig []byte
}

func (t *BundleTrailer) Type() Type { return TypeBundleTrailer }

func (t *BundleTrailer) AppendBinary(b []byte) ([]byte, error) { return appendBytes(b, t.Sig), nil }

func (t *BundleTrailer) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	t.Sig = cloneBytes(d.bytes("signature", maxSigLen))
	return d.err
}

func init() {
	register(TypeBundleHeader, func() Message { return new(BundleHeader) })
	register(TypeBundleTrailer, func() Message { return new(BundleTrailer) })
}

const bundleDomain = "bundle"

// BundleWriter writes a bundle; Close signs it.
type BundleWriter struct {
	w      *bufio.Writer
	sum    hash.Hash
	key    ed25519.PrivateKey
	frames uint64
	want   uint64
	err    error
}

// NewBundleWriter starts a bundle of h.Frames content frames signed with key.
func NewBundleWriter(w io.Writer, h BundleHeader, key ed25519.PrivateKey) (*BundleWriter, error) {
	h.Key = key.Public().(ed25519.PublicKey)
	bw := &BundleWriter{w: bufio.NewWriter(w), sum: sha256.New(), key: key, want: h.Frames}
	bw.write([]byte(bundleMagic))
	frame, err := AppendFrame(nil, &h)
	if err != nil {
		return nil, err
	}
	bw.write(frame)
	return bw, bw.err
}

func (bw *BundleWriter) write(p []byte) {
	if bw.err != nil {
		return
	}
	bw.sum.Write(p)
	_, bw.err = bw.w.Write(p)
}

// Add writes one content frame.
func (bw *BundleWriter) Add(m Message) error {
	frame, err := AppendFrame(nil, m)
	if err != nil {
		return err
	}
	bw.frames++
	bw.write(frame)
	return bw.err
}

// Close writes the trailer and flushes. It refuses a bundle whose frame count differs
// from its header's.
func (bw *BundleWriter) Close() error {
	if bw.err != nil {
		return bw.err
	}
	if bw.frames != bw.want {
		return fmt.Errorf("bundle: %d frames written, header says %d", bw.frames, bw.want)
	}
	digest := bw.sum.Sum(nil)
	frame, err := AppendFrame(nil, &BundleTrailer{Sig: ed25519.Sign(bw.key, signingInput(bundleDomain, digest))})
	if err != nil {
		return err
	}
	if _, err := bw.w.Write(frame); err != nil {
		return err
	}
	return bw.w.Flush()
}

// ReadBundle reads a whole bundle and checks its signature with the key its header names;
// trust decides whether that key may sign such a bundle (a known relay for a queue bundle,
// the pinned root for policies). Nothing is returned from a bundle that does not verify.
func ReadBundle(r io.Reader, trust func(h *BundleHeader) error) (*BundleHeader, []Message, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(bundleMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != bundleMagic {
		return nil, nil, fmt.Errorf("%w: not a bosun bundle", ErrBadBundle)
	}
	// The digest covers every byte before the trailer, as read frame by frame.
	digest := sha256.New()
	digest.Write(magic)
	readFrame := func() (Message, []byte, error) {
		var raw []byte
		rec := &recordingReader{r: br, rec: &raw}
		t, payload, err := ReadFrame(rec, MaxFrameSize)
		if err != nil {
			return nil, nil, err
		}
		m, err := Decode(t, payload)
		return m, raw, err
	}
	m, raw, err := readFrame()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrBadBundle, err)
	}
	h, ok := m.(*BundleHeader)
	if !ok {
		return nil, nil, fmt.Errorf("%w: starts with a %v, not a header", ErrBadBundle, m.Type())
	}
	digest.Write(raw)
	if len(h.Key) != ed25519.PublicKeySize {
		return nil, nil, fmt.Errorf("%w: header names no key", ErrBadBundle)
	}
	if err := trust(h); err != nil {
		return nil, nil, fmt.Errorf("bundle %s from %s: %w", h.BundleID, h.Signer, err)
	}
	var msgs []Message
	for {
		m, raw, err := readFrame()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: frame %d: %v", ErrBadBundle, len(msgs)+1, err)
		}
		if t, ok := m.(*BundleTrailer); ok {
			if uint64(len(msgs)) != h.Frames {
				return nil, nil, fmt.Errorf("%w: %d frames, header says %d", ErrBadBundle, len(msgs), h.Frames)
			}
			if !ed25519.Verify(h.Key, signingInput(bundleDomain, digest.Sum(nil)), t.Sig) {
				return nil, nil, fmt.Errorf("%w: signature does not verify", ErrBadBundle)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				return nil, nil, fmt.Errorf("%w: bytes after the trailer", ErrBadBundle)
			}
			return h, msgs, nil
		}
		digest.Write(raw)
		msgs = append(msgs, m)
		if uint64(len(msgs)) > h.Frames {
			return nil, nil, fmt.Errorf("%w: more frames than the header's %d", ErrBadBundle, h.Frames)
		}
	}
}

// recordingReader keeps the bytes a frame was read from, for the digest.
type recordingReader struct {
	r   *bufio.Reader
	rec *[]byte
}

func (r *recordingReader) ReadByte() (byte, error) {
	c, err := r.r.ReadByte()
	if err == nil {
		*r.rec = append(*r.rec, c)
	}
	return c, err
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	*r.rec = append(*r.rec, p[:n]...)
	return n, err
}
