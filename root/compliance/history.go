package compliance

import (
	"encoding/binary"
	"errors"
	"time"
)

// History is how long compliance history is kept, and at which resolution: every point
// (one per HistoryStep at most, written when the counts changed) for Full, then one per
// hour until Hourly, then one per day until Daily, beyond which points are dropped. Each
// series also keeps at most MaxPoints points, the newest.
const (
	HistoryStep     = 5 * time.Minute
	HistoryFull     = 30 * 24 * time.Hour
	HistoryHourly   = 90 * 24 * time.Hour
	HistoryDaily    = 400 * 24 * time.Hour
	HistoryMaxPoint = 30*24*12 + 60*24 + 310 + 100
)

// Downsample returns the indexes of the points to drop from a series whose times are in
// increasing order: within each hour (beyond Full) or day (beyond Hourly) only the last
// point stays; beyond Daily none; and never more than HistoryMaxPoint.
func Downsample(times []time.Time, now time.Time) []int {
	var drop []int
	bucket := func(t time.Time) (int64, bool) {
		age := now.Sub(t)
		switch {
		case age <= HistoryFull:
			return 0, false
		case age <= HistoryHourly:
			return t.Unix() / 3600, true
		case age <= HistoryDaily:
			return -(t.Unix()/86400 + 1), true
		}
		return 0, true
	}
	for i, t := range times {
		if now.Sub(t) > HistoryDaily {
			drop = append(drop, i)
			continue
		}
		b, coarse := bucket(t)
		if !coarse || i+1 >= len(times) {
			continue
		}
		if nb, ncoarse := bucket(times[i+1]); ncoarse && nb == b {
			drop = append(drop, i) // a later point of the same bucket stands for it
		}
	}
	if keep := len(times) - len(drop); keep > HistoryMaxPoint {
		extra := keep - HistoryMaxPoint
		dropped := map[int]bool{}
		for _, i := range drop {
			dropped[i] = true
		}
		for i := 0; i < len(times) && extra > 0; i++ {
			if !dropped[i] {
				drop = append(drop, i)
				extra--
			}
		}
	}
	return drop
}

// AppendCounts appends a compact encoding of c: a version byte, then each state's count
// as a uvarint. A history point is 16 bytes for a node of 50 components.
func AppendCounts(b []byte, c *Counts) []byte {
	b = append(b, 1)
	for s := StateNotApplicable; s < numStates; s++ {
		b = binary.AppendUvarint(b, uint64(max(c[s], 0)))
	}
	return b
}

// ErrCounts is returned for an encoding of counts that cannot be read.
var ErrCounts = errors.New("compliance: bad encoding of counts")

// DecodeCounts is the inverse of AppendCounts; states added later are read as zero by an
// older reader only if appended, so unknown trailing states are ignored.
func DecodeCounts(b []byte) (Counts, error) {
	var c Counts
	if len(b) == 0 || b[0] != 1 {
		return c, ErrCounts
	}
	b = b[1:]
	for s := StateNotApplicable; s < numStates && len(b) > 0; s++ {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<62 {
			return c, ErrCounts
		}
		c[s], b = int64(v), b[n:]
	}
	return c, nil
}
