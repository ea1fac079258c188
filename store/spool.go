package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

var _ Queue = (*Spool)(nil)

// DefaultSegmentBytes is the size at which the spool starts a new
// segment file when SpoolOptions.SegmentBytes is 0.
const DefaultSegmentBytes = 1 << 20

const (
	segmentExt  = ".seg"
	ackFileName = "acked"
	ackTmpName  = "acked.tmp"
	lockName    = "lock"
	ackFileLen  = 1 + 8 + 8 // version, seq, xxhash64 of the seq
	ackVersion  = 1
)

// SpoolOptions configures OpenSpool. Zero fields mean the documented
// defaults.
type SpoolOptions struct {
	// SegmentBytes is the size past which a new segment file is started;
	// 0 means DefaultSegmentBytes. Acknowledged space is freed one whole
	// segment at a time, so smaller segments free disk sooner and cost
	// more files.
	SegmentBytes int64
	// MaxBytes caps QueueStats.Bytes; 0 means no cap.
	MaxBytes int64
	// Logger receives torn-tail warnings; nil discards them.
	Logger *slog.Logger
}

func (o SpoolOptions) withDefaults() SpoolOptions {
	if o.SegmentBytes == 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o SpoolOptions) validate() error {
	if o.SegmentBytes < 0 {
		return fmt.Errorf("SpoolOptions.SegmentBytes %d: must be 0 (default) or positive", o.SegmentBytes)
	}
	if o.MaxBytes < 0 {
		return fmt.Errorf("SpoolOptions.MaxBytes %d: must be 0 (no budget) or positive", o.MaxBytes)
	}
	return nil
}

// Spool is the agent's Queue: append-only segment files in one directory,
// with no background goroutine and a few bytes of memory per unacked
// record (DEPS.md §5: 219k records/s at 8.6 MiB against Badger's 25-34
// MiB). Files:
//
//	<first seq, 20 digits>.seg  records, see spoolframe.go
//	acked                       highest acknowledged Seq, replaced atomically
//	lock                        held (flock) while open
//
// A Spool is safe for concurrent use; calls are serialised.
type Spool struct {
	dir  string
	opts SpoolOptions
	log  *slog.Logger

	mu     sync.Mutex
	lock   *os.File
	closed bool
	broken error      // an earlier write left the tail in an unknown state
	segs   []*segment // oldest first; the last one takes appends
	active *os.File   // the last segment, open for writing, or nil
	acked  uint64
	last   uint64
	depth  int
	bytes  int64
	buf    []byte
}

type segment struct {
	path  string
	first uint64 // the Seq in its name
	last  uint64 // highest Seq in it; first-1 when it holds none
	size  int64
	recs  []spoolRec // records not yet acknowledged, oldest first
}

type spoolRec struct {
	seq   uint64
	nanos int64
	off   int64
	n     int
}

// OpenSpool prepares dir (see PrepareDir) and opens the spool in it,
// truncating a torn tail left by a crash in the middle of an Append.
func OpenSpool(dir string, opts SpoolOptions) (*Spool, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	opts = opts.withDefaults()
	if err := PrepareDir(dir); err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, opts: opts, log: opts.Logger.With("component", "spool", logKeyDir, dir)}
	lock, err := lockFile(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w (is another bosun agent using this data directory?)", dir, err)
	}
	s.lock = lock
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

func (s *Spool) load() error {
	if err := s.readAck(); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.dir, ackTmpName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open spool %s: %w", s.dir, err)
	}
	segs, err := s.listSegments()
	if err != nil {
		return err
	}
	s.last = s.acked
	var prev *segment
	for i, seg := range segs {
		if prev != nil && seg.first <= prev.last {
			return fmt.Errorf("open spool: segment %s: %w: starts at seq %d, but %s reaches %d; move the newer one aside",
				seg.path, ErrCorrupt, seg.first, prev.path, prev.last)
		}
		if prev != nil && seg.first > prev.last+1 && seg.first-1 > s.acked {
			return fmt.Errorf("open spool: %w: records %d to %d are missing before %s (a segment was removed); "+
				"move the ack file and the segments aside to start an empty spool",
				ErrCorrupt, max(prev.last+1, s.acked+1), seg.first-1, seg.path)
		}
		if err := s.scan(seg, i == len(segs)-1); err != nil {
			return err
		}
		s.last = max(s.last, seg.last)
		prev = seg
	}
	// Drop what is fully acknowledged (or empty), keep the rest.
	for _, seg := range segs {
		if len(seg.recs) == 0 {
			if err := os.Remove(seg.path); err != nil {
				return fmt.Errorf("open spool: remove acknowledged segment %s: %w", seg.path, err)
			}
			continue
		}
		s.segs = append(s.segs, seg)
		for _, r := range seg.recs {
			s.depth++
			s.bytes += int64(r.n)
		}
	}
	if n := len(s.segs); n > 0 {
		f, err := os.OpenFile(s.segs[n-1].path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open spool segment: %w", err)
		}
		s.active = f
	}
	return syncDir(s.dir)
}

func (s *Spool) readAck() error {
	path := filepath.Join(s.dir, ackFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	if len(b) != ackFileLen || b[0] != ackVersion || xxhash.Sum64(b[1:9]) != binary.BigEndian.Uint64(b[9:]) {
		return fmt.Errorf("open spool: ack file %s: %w: %d bytes, version %d; "+
			"remove it to resend every spooled record", path, ErrCorrupt, len(b), firstByte(b))
	}
	s.acked = binary.BigEndian.Uint64(b[1:9])
	return nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

func (s *Spool) listSegments() ([]*segment, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	var segs []*segment
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segmentExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExt), 10, 64)
		if err != nil || first == 0 {
			return nil, fmt.Errorf("open spool: %s: not a segment name; move it out of %s", name, s.dir)
		}
		segs = append(segs, &segment{path: filepath.Join(s.dir, name), first: first, last: first - 1})
	}
	slices.SortFunc(segs, func(a, b *segment) int { return compareSeq(a.first, b.first) })
	return segs, nil
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, segmentExt) }

// scan indexes the records of seg that are not acknowledged. In the last
// segment, a damaged frame with no good frame after it is a torn tail
// and is truncated away; anywhere else damage is ErrCorrupt.
func (s *Spool) scan(seg *segment, isLast bool) error {
	b, err := os.ReadFile(seg.path)
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	corrupt := func(off int, why error) error {
		return fmt.Errorf("spool segment %s at offset %d: %w; move the file aside to drop its records and start the agent again",
			seg.path, off, why)
	}
	if len(b) < spoolHeaderLen || string(b[:len(spoolMagic)]) != spoolMagic {
		if isLast && (len(b) < spoolHeaderLen && strings.HasPrefix(spoolMagic, string(b[:min(len(b), len(spoolMagic))]))) {
			return s.truncate(seg, b, 0)
		}
		return corrupt(0, fmt.Errorf("%w: not a spool segment", ErrCorrupt))
	}
	if v := b[len(spoolMagic)]; v != spoolVersion {
		return corrupt(len(spoolMagic), fmt.Errorf("%w: segment format version %d, this bosun knows %d", ErrCorrupt, v, spoolVersion))
	}
	off := spoolHeaderLen
	for off < len(b) {
		seq, nanos, data, size, err := decodeFrame(b[off:])
		if err != nil {
			if !isLast || frameAhead(b[off+1:], seg.last, uint64(len(b))) {
				if errors.Is(err, errTruncated) {
					err = fmt.Errorf("%w: the segment ends inside a frame", ErrCorrupt)
				}
				return corrupt(off, err)
			}
			return s.truncate(seg, b, off)
		}
		if seq != seg.last+1 {
			// A whole frame with a good checksum is no torn write.
			return corrupt(off, fmt.Errorf("%w: seq %d, want %d", ErrCorrupt, seq, seg.last+1))
		}
		seg.last = seq
		if seq > s.acked {
			seg.recs = append(seg.recs, spoolRec{seq: seq, nanos: nanos, off: int64(off), n: len(data)})
		}
		off += size
	}
	seg.size = int64(len(b))
	return nil
}

// truncate cuts the last segment at off, where its torn tail starts. The
// records cut were never acknowledged to a caller: Append had not synced.
func (s *Spool) truncate(seg *segment, b []byte, off int) error {
	s.log.Warn("spool: truncating a torn tail left by a crash",
		logKeyFile, seg.path, logKeyOffset, off, logKeyBytes, len(b)-off)
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open spool: truncate torn tail: %w", err)
	}
	defer f.Close()
	if off < spoolHeaderLen {
		// Not even a header survived: rewrite it so the file stays a
		// segment.
		if _, err := f.WriteAt(spoolHeader(), 0); err != nil {
			return fmt.Errorf("open spool: truncate torn tail of %s: %w", seg.path, err)
		}
		off = spoolHeaderLen
	}
	if err := f.Truncate(int64(off)); err != nil {
		return fmt.Errorf("open spool: truncate torn tail of %s: %w", seg.path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("open spool: truncate torn tail of %s: %w", seg.path, err)
	}
	seg.size = int64(off)
	return nil
}

// Append implements Queue: the batch is written to the last segment (a
// new one when the last is past SegmentBytes) and fsynced once.
func (s *Spool) Append(data ...[]byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	if len(data) == 0 {
		return s.last, nil
	}
	total, err := checkAppend("spool "+s.dir, data, s.bytes, s.opts.MaxBytes)
	if err != nil {
		return 0, err
	}
	nanos := time.Now().UnixNano()
	seg := s.tail()
	if seg == nil || (seg.size > int64(spoolHeaderLen) && seg.size+int64(s.batchLen(data)) > s.opts.SegmentBytes) {
		if seg, err = s.rotate(); err != nil {
			return 0, err
		}
	}
	buf := s.buf[:0]
	recs := make([]spoolRec, 0, len(data))
	seq := s.last
	for _, d := range data {
		seq++
		recs = append(recs, spoolRec{seq: seq, nanos: nanos, off: seg.size + int64(len(buf)), n: len(d)})
		buf = appendFrame(buf, seq, nanos, d)
	}
	if cap(buf) <= 4*DefaultSegmentBytes {
		s.buf = buf
	}
	if _, err := s.active.WriteAt(buf, seg.size); err != nil {
		return 0, s.undo(seg, fmt.Errorf("spool %s: append to %s: %w", s.dir, seg.path, err))
	}
	if err := s.active.Sync(); err != nil {
		return 0, s.undo(seg, fmt.Errorf("spool %s: sync %s: %w", s.dir, seg.path, err))
	}
	seg.size += int64(len(buf))
	seg.last = seq
	seg.recs = append(seg.recs, recs...)
	s.depth += len(data)
	s.bytes += total
	s.last = seq
	return seq, nil
}

func (s *Spool) batchLen(data [][]byte) int {
	n := 0
	for _, d := range data {
		n += frameLen(len(d))
	}
	return n
}

// undo cuts a failed write off the segment; if even that fails the
// spool refuses further appends until reopened, where the scan decides.
func (s *Spool) undo(seg *segment, cause error) error {
	if err := s.active.Truncate(seg.size); err != nil {
		s.broken = fmt.Errorf("spool %s: after a failed append the tail of %s is unknown (%v); reopen the spool", s.dir, seg.path, err)
	}
	return cause
}

func (s *Spool) usable() error {
	if s.closed {
		return fmt.Errorf("spool %s: %w", s.dir, ErrClosed)
	}
	return s.broken
}

func (s *Spool) tail() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
}

// rotate starts a new segment named after the next Seq; the previous one
// was synced by the Append that wrote it last.
func (s *Spool) rotate() (*segment, error) {
	seg := &segment{path: filepath.Join(s.dir, segmentName(s.last+1)), first: s.last + 1, last: s.last}
	f, err := os.OpenFile(seg.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool %s: new segment: %w", s.dir, err)
	}
	if _, err := f.Write(spoolHeader()); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(seg.path)
		return nil, fmt.Errorf("spool %s: new segment %s: %w", s.dir, seg.path, err)
	}
	if s.active != nil {
		s.active.Close()
	}
	s.active = f
	seg.size = int64(spoolHeaderLen)
	s.segs = append(s.segs, seg)
	return seg, nil
}

// Peek implements Queue. Records are read back from disk and their
// checksums verified again.
func (s *Spool) Peek(max int) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	var out []Record
	for _, seg := range s.segs {
		if len(out) >= max {
			break
		}
		recs := seg.recs[:min(len(seg.recs), max-len(out))]
		if len(recs) == 0 {
			continue
		}
		got, err := s.read(seg, recs)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// read reads the consecutive records recs of seg with one ReadAt.
func (s *Spool) read(seg *segment, recs []spoolRec) ([]Record, error) {
	lastRec := recs[len(recs)-1]
	from, to := recs[0].off, lastRec.off+int64(frameLen(lastRec.n))
	f := s.active
	if seg != s.tail() {
		var err error
		if f, err = os.Open(seg.path); err != nil {
			return nil, fmt.Errorf("spool %s: %w", s.dir, err)
		}
		defer f.Close()
	}
	b := make([]byte, to-from)
	if _, err := f.ReadAt(b, from); err != nil {
		return nil, fmt.Errorf("spool segment %s: read at %d: %w", seg.path, from, err)
	}
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		at := b[r.off-from:]
		seq, nanos, data, _, err := decodeFrame(at)
		if err == nil && (seq != r.seq || nanos != r.nanos || len(data) != r.n) {
			err = fmt.Errorf("%w: frame changed on disk since it was written", ErrCorrupt)
		}
		if err != nil {
			return nil, fmt.Errorf("spool segment %s at offset %d: %w", seg.path, r.off, err)
		}
		out = append(out, Record{Seq: seq, Time: time.Unix(0, nanos), Data: data[:len(data):len(data)]})
	}
	return out, nil
}

// Ack implements Queue: the acknowledged Seq is made durable first, then
// segments holding nothing else are unlinked.
func (s *Spool) Ack(upTo uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	upTo = min(upTo, s.last)
	if upTo <= s.acked {
		return nil
	}
	if err := s.writeAck(upTo); err != nil {
		return err
	}
	s.acked = upTo
	removed := false
	for len(s.segs) > 0 {
		seg := s.segs[0]
		i, _ := slices.BinarySearchFunc(seg.recs, upTo+1, func(r spoolRec, seq uint64) int { return compareSeq(r.seq, seq) })
		for _, r := range seg.recs[:i] {
			s.depth--
			s.bytes -= int64(r.n)
		}
		seg.recs = seg.recs[i:]
		if seg.last > upTo {
			break
		}
		if seg == s.tail() {
			s.active.Close()
			s.active = nil
		}
		if err := os.Remove(seg.path); err != nil {
			// The ack is durable; the next open removes the file.
			s.log.Warn("spool: cannot remove an acknowledged segment", logKeyFile, seg.path, logKeyDetail, err.Error())
		}
		removed = true
		s.segs = s.segs[1:]
	}
	if removed {
		if err := syncDir(s.dir); err != nil {
			s.log.Warn("spool: cannot sync the directory after removing segments", logKeyDetail, err.Error())
		}
	}
	return nil
}

// writeAck replaces the ack file: write a temporary file, sync it, rename
// it over, sync the directory, so a crash leaves the old or the new.
func (s *Spool) writeAck(seq uint64) error {
	b := make([]byte, 0, ackFileLen)
	b = append(b, ackVersion)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, xxhash.Sum64(b[1:9]))
	tmp := filepath.Join(s.dir, ackTmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool %s: ack %d: %w", s.dir, seq, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, ackFileName))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("spool %s: ack %d: %w", s.dir, seq, err)
	}
	return nil
}

// Stats implements Queue.
func (s *Spool) Stats() QueueStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := QueueStats{Depth: s.depth, Bytes: s.bytes}
	for _, seg := range s.segs {
		if len(seg.recs) > 0 {
			st.Oldest = time.Unix(0, seg.recs[0].nanos)
			break
		}
	}
	return st
}

// Close closes the spool's files. It is idempotent.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.closeFiles()
}

func (s *Spool) closeFiles() error {
	var errs []error
	if s.active != nil {
		errs = append(errs, s.active.Close())
		s.active = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
		s.lock = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close spool %s: %w", s.dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
