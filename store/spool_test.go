package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func openSpool(t testing.TB, dir string, opts SpoolOptions) *Spool {
	t.Helper()
	s, err := OpenSpool(dir, opts)
	if err != nil {
		t.Fatalf("OpenSpool(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func peekData(t *testing.T, q Queue) []string {
	t.Helper()
	recs, err := q.Peek(1 << 20)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	var out []string
	for i, r := range recs {
		if i > 0 && r.Seq != recs[i-1].Seq+1 {
			t.Fatalf("Peek: seq %d after %d", r.Seq, recs[i-1].Seq)
		}
		out = append(out, string(r.Data))
	}
	return out
}

// spoolWith writes records one Append each into a fresh spool, closes it
// and returns its dir and the data.
func spoolWith(t *testing.T, n int, opts SpoolOptions) (string, []string) {
	t.Helper()
	dir := dataDir(t)
	s, err := OpenSpool(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var data []string
	for i := range n {
		d := fmt.Sprintf("record %d %s", i+1, strings.Repeat("z", i*3))
		if _, err := s.Append([]byte(d)); err != nil {
			t.Fatal(err)
		}
		data = append(data, d)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, data
}

// TestSpoolTornTail cuts the last record at every byte and damages each
// of its bytes in turn: every reopen keeps all the earlier records,
// truncates the rest, and takes appends again.
func TestSpoolTornTail(t *testing.T) {
	dir, data := spoolWith(t, 5, SpoolOptions{})
	segs := segmentFiles(t, dir)
	if len(segs) != 1 {
		t.Fatalf("got %d segments, want 1", len(segs))
	}
	orig, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	lastStart := len(orig) - frameLen(len(data[4]))
	check := func(t *testing.T, content []byte) {
		t.Helper()
		if err := os.WriteFile(segs[0], content, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenSpool(dir, SpoolOptions{})
		if err != nil {
			t.Fatalf("OpenSpool: %v", err)
		}
		defer s.Close()
		if got := peekData(t, s); !slices.Equal(got, data[:4]) {
			t.Fatalf("records after reopen: got %q, want %q", got, data[:4])
		}
		if fi, err := os.Stat(segs[0]); err != nil || fi.Size() != int64(lastStart) {
			t.Fatalf("segment size after reopen: got %v (%v), want %d", fi.Size(), err, lastStart)
		}
		if seq, err := s.Append([]byte("again")); err != nil || seq != 5 {
			t.Fatalf("Append after recovery: got %d, %v; want seq 5", seq, err)
		}
	}
	for cut := lastStart; cut < len(orig); cut++ {
		t.Run(fmt.Sprintf("cut at %d", cut), func(t *testing.T) { check(t, orig[:cut]) })
	}
	for at := lastStart; at < len(orig); at++ {
		t.Run(fmt.Sprintf("flip byte %d", at), func(t *testing.T) {
			b := bytes.Clone(orig)
			b[at] ^= 0x40
			check(t, b)
		})
	}
	t.Run("zero-filled tail", func(t *testing.T) {
		check(t, append(bytes.Clone(orig[:lastStart]), make([]byte, 4096)...))
	})
}

func TestSpoolCorruptMiddle(t *testing.T) {
	dir, data := spoolWith(t, 5, SpoolOptions{})
	seg := segmentFiles(t, dir)[0]
	orig, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the second record; three good ones follow it.
	second := spoolHeaderLen + frameLen(len(data[0]))
	tests := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"flipped data byte", func(b []byte) []byte { b[second+frameLen(len(data[1]))-1] ^= 1; return b }},
		{"flipped checksum", func(b []byte) []byte { b[second+2] ^= 1; return b }},
		{"length too long", func(b []byte) []byte { b[second]++; return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(seg, tt.edit(bytes.Clone(orig)), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := OpenSpool(dir, SpoolOptions{})
			if err == nil {
				s.Close()
			}
			want := fmt.Sprintf("%s at offset %d", seg, second)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
				t.Fatalf("OpenSpool: got %v, want ErrCorrupt naming %q", err, want)
			}
		})
	}
}

func TestSpoolCorruptOnDisk(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(t *testing.T, dir string, segs []string)
		wantMsg string
	}{
		{"older segment cut short", func(t *testing.T, dir string, segs []string) {
			fi, _ := os.Stat(segs[0])
			os.Truncate(segs[0], fi.Size()-3)
		}, "at offset"},
		{"not a segment", func(t *testing.T, dir string, segs []string) {
			os.WriteFile(segs[0], []byte("hello, world"), 0o600)
		}, "not a spool segment"},
		{"newer segment format", func(t *testing.T, dir string, segs []string) {
			b, _ := os.ReadFile(segs[0])
			b[len(spoolMagic)] = 9
			os.WriteFile(segs[0], b, 0o600)
		}, "segment format version 9"},
		{"segment missing", func(t *testing.T, dir string, segs []string) {
			os.Remove(segs[1])
		}, "are missing before"},
		{"ack file garbled", func(t *testing.T, dir string, segs []string) {
			os.WriteFile(filepath.Join(dir, ackFileName), []byte("xx"), 0o600)
		}, "ack file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := spoolWith(t, 12, SpoolOptions{SegmentBytes: 100})
			segs := segmentFiles(t, dir)
			if len(segs) < 3 {
				t.Fatalf("got %d segments, want at least 3", len(segs))
			}
			tt.edit(t, dir, segs)
			s, err := OpenSpool(dir, SpoolOptions{})
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("OpenSpool: got %v, want ErrCorrupt with %q", err, tt.wantMsg)
			}
		})
	}
}

func TestSpoolCorruptAfterOpen(t *testing.T) {
	dir := dataDir(t)
	s := openSpool(t, dir, SpoolOptions{})
	if _, err := s.Append([]byte("one"), []byte("two")); err != nil {
		t.Fatal(err)
	}
	seg := segmentFiles(t, dir)[0]
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The last byte of "two".
	fi, _ := f.Stat()
	if _, err := f.WriteAt([]byte{'X'}, fi.Size()-1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = s.Peek(10)
	if want := fmt.Sprintf("%s at offset %d", seg, spoolHeaderLen+frameLen(3)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
		t.Errorf("Peek of a record damaged on disk: got %v, want ErrCorrupt naming %q", err, want)
	}
}

func TestSpoolSegments(t *testing.T) {
	dir := dataDir(t)
	// Frames of 10 bytes of data are 35 bytes: 3 fit in a 120-byte
	// segment after its 8-byte header.
	s := openSpool(t, dir, SpoolOptions{SegmentBytes: 120})
	for i := range 10 {
		if _, err := s.Append(fmt.Appendf(nil, "record-%03d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"00000000000000000001.seg", "00000000000000000004.seg", "00000000000000000007.seg", "00000000000000000010.seg"}
	names := func() []string {
		var n []string
		for _, p := range segmentFiles(t, dir) {
			n = append(n, filepath.Base(p))
		}
		return n
	}
	if got := names(); !slices.Equal(got, want) {
		t.Fatalf("segments: got %v, want %v", got, want)
	}
	// Acking inside a segment keeps it; acking its last record removes it.
	if err := s.Ack(5); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, want[1:]) {
		t.Errorf("segments after Ack(5): got %v, want %v", got, want[1:])
	}
	if err := s.Ack(6); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, want[2:]) {
		t.Errorf("segments after Ack(6): got %v, want %v", got, want[2:])
	}
	// A batch bigger than a segment gets one of its own.
	big := make([][]byte, 6)
	for i := range big {
		big[i] = fmt.Appendf(nil, "big----%03d", i+11)
	}
	if seq, err := s.Append(big...); err != nil || seq != 16 {
		t.Fatalf("Append of a big batch: got %d, %v; want 16", seq, err)
	}
	want = append(want[2:], "00000000000000000011.seg")
	if got := names(); !slices.Equal(got, want) {
		t.Errorf("segments after a big batch: got %v, want %v", got, want)
	}
	if err := s.Ack(16); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 0 {
		t.Errorf("segments after acking everything: got %v, want none", got)
	}
	if seq, err := s.Append([]byte("after")); err != nil || seq != 17 {
		t.Errorf("Append after a full drain: got %d, %v; want 17", seq, err)
	}
	if got := names(); !slices.Equal(got, []string{"00000000000000000017.seg"}) {
		t.Errorf("segments: got %v, want the one starting at 17", got)
	}
}

func TestSpoolOpenCleansUp(t *testing.T) {
	dir, data := spoolWith(t, 9, SpoolOptions{SegmentBytes: 100})
	before := segmentFiles(t, dir)
	// An ack whose segment removal did not happen before a crash, and a
	// temporary ack file left behind.
	s := openSpool(t, dir, SpoolOptions{SegmentBytes: 100})
	if err := s.writeAck(4); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, ackTmpName), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openSpool(t, dir, SpoolOptions{SegmentBytes: 100})
	if got := peekData(t, s); !slices.Equal(got, data[4:]) {
		t.Errorf("records: got %q, want %q", got, data[4:])
	}
	after := segmentFiles(t, dir)
	if len(after) >= len(before) {
		t.Errorf("segments: %d before, %d after opening with 4 acked; want fewer", len(before), len(after))
	}
	if _, err := os.Stat(filepath.Join(dir, ackTmpName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary ack file: got %v, want it removed", err)
	}
}

func TestSpoolLocked(t *testing.T) {
	dir := dataDir(t)
	openSpool(t, dir, SpoolOptions{})
	if s, err := OpenSpool(dir, SpoolOptions{}); err == nil {
		s.Close()
		t.Fatal("second OpenSpool of one dir: got nil error, want a lock error")
	}
}

func TestSpoolClose(t *testing.T) {
	s := openSpool(t, dataDir(t), SpoolOptions{})
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if _, err := s.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.Peek(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Peek after Close: got %v, want ErrClosed", err)
	}
	if err := s.Ack(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack after Close: got %v, want ErrClosed", err)
	}
}

func TestSpoolOptions(t *testing.T) {
	for _, o := range []SpoolOptions{{SegmentBytes: -1}, {MaxBytes: -1}} {
		if s, err := OpenSpool(dataDir(t), o); err == nil {
			s.Close()
			t.Errorf("OpenSpool(%+v): got nil error, want a validation error", o)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 20} {
		data := bytes.Repeat([]byte{0x5a}, n)
		b := appendFrame([]byte("prefix"), 42, -7, data)[len("prefix"):]
		if len(b) != frameLen(n) {
			t.Errorf("frame of %d bytes: got length %d, frameLen says %d", n, len(b), frameLen(n))
		}
		seq, nanos, got, size, err := decodeFrame(append(b, "trailing"...))
		if err != nil || seq != 42 || nanos != -7 || !bytes.Equal(got, data) || size != len(b) {
			t.Errorf("decode frame of %d bytes: got seq %d nanos %d %d bytes size %d, %v", n, seq, nanos, len(got), size, err)
		}
		if _, _, _, _, err := decodeFrame(b[:len(b)-1]); !errors.Is(err, errTruncated) {
			t.Errorf("decode of a cut frame of %d bytes: got %v, want errTruncated", n, err)
		}
	}
	huge := binary.AppendUvarint(nil, MaxRecordBytes+1)
	if _, _, _, _, err := decodeFrame(append(huge, make([]byte, 64)...)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("decode of a frame claiming %d bytes: got %v, want ErrCorrupt", MaxRecordBytes+1, err)
	}
	if _, _, _, _, err := decodeFrame(append([]byte{0x80, 0x00}, make([]byte, 64)...)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("decode of a non-minimal length: got %v, want ErrCorrupt", err)
	}
}

// FuzzDecodeFrame: the decoder never panics, never reads past its input,
// and what it accepts re-encodes to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(appendFrame(nil, 1, 1700000000000000000, []byte("report")))
	f.Add(appendFrame(nil, 1<<63, -1, nil))
	f.Add(appendFrame(nil, 7, 0, bytes.Repeat([]byte{0xff}, 300)))
	f.Add(appendFrame(nil, 2, 2, []byte("cut"))[:10])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, nanos, data, size, err := decodeFrame(b)
		if err != nil {
			if !errors.Is(err, errTruncated) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is neither errTruncated nor ErrCorrupt", err)
			}
			return
		}
		if size > len(b) {
			t.Fatalf("size %d past the input's %d bytes", size, len(b))
		}
		if re := appendFrame(nil, seq, nanos, data); !bytes.Equal(re, b[:size]) {
			t.Fatalf("re-encoded %x, decoded from %x", re, b[:size])
		}
	})
}

// FuzzOpenSpool opens a spool whose only segment holds arbitrary bytes:
// it opens or fails with ErrCorrupt, never panics, and an open spool
// serves what it indexed and takes appends.
func FuzzOpenSpool(f *testing.F) {
	var seg []byte
	seg = append(seg, spoolHeader()...)
	for i := range 3 {
		seg = appendFrame(seg, uint64(i+1), int64(i), []byte("some report"))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-4])
	f.Add(seg[:5])
	f.Add(append(bytes.Clone(seg), 0, 0, 0))
	f.Add([]byte("bosunsp\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := dataDir(t)
		if err := PrepareDir(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenSpool(dir, SpoolOptions{})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("OpenSpool: %v is not ErrCorrupt", err)
			}
			return
		}
		defer s.Close()
		recs, err := s.Peek(1 << 20)
		if err != nil {
			t.Fatalf("Peek after a successful open: %v", err)
		}
		seq, err := s.Append([]byte("new"))
		if err != nil || seq != uint64(len(recs))+1 {
			t.Fatalf("Append: got %d, %v; want seq %d", seq, err, len(recs)+1)
		}
	})
}
