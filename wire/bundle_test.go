package wire

import (
	"bytes"
	"errors"
	"testing"
)

func writeTestBundle(t *testing.T, msgs []Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw, err := NewBundleWriter(&buf, BundleHeader{Kind: BundleQueue, Signer: "relay-1", Created: testTime, Frames: uint64(len(msgs)), BundleID: "b1"}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := bw.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBundle(t *testing.T) {
	msgs := []Message{sampleOf(TypeForward), sampleOf(TypeForward), sampleOf(TypeReport)}
	b := writeTestBundle(t, msgs)
	trustAll := func(*BundleHeader) error { return nil }
	h, got, err := ReadBundle(bytes.NewReader(b), trustAll)
	if err != nil {
		t.Fatal(err)
	}
	if h.Signer != "relay-1" || h.BundleID != "b1" || len(got) != 3 || got[2].Type() != TypeReport {
		t.Fatalf("got header %+v and %d messages", h, len(got))
	}

	for name, bad := range map[string][]byte{
		"truncated":     b[:len(b)-20],
		"cut mid-frame": b[:len(b)/2],
		"altered":       flip(b, len(b)/2),
		"trailing junk": append(append([]byte(nil), b...), 0),
		"not a bundle":  []byte("hello"),
		"empty":         nil,
	} {
		if _, _, err := ReadBundle(bytes.NewReader(bad), trustAll); !errors.Is(err, ErrBadBundle) {
			t.Errorf("%s: got %v, want ErrBadBundle", name, err)
		}
	}
	distrust := errors.New("unknown relay")
	if _, _, err := ReadBundle(bytes.NewReader(b), func(*BundleHeader) error { return distrust }); !errors.Is(err, distrust) {
		t.Errorf("untrusted signer: got %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

func FuzzReadBundle(f *testing.F) {
	var buf bytes.Buffer
	bw, _ := NewBundleWriter(&buf, BundleHeader{Kind: BundleQueue, Signer: "r", Frames: 1, BundleID: "x"}, testKey)
	_ = bw.Add(sampleOf(TypeHello))
	_ = bw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = ReadBundle(bytes.NewReader(data), func(*BundleHeader) error { return nil })
	})
}
