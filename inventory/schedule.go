package inventory

import (
	"time"

	"github.com/cespare/xxhash/v2"
)

// The daily inventory window, in local time (DESIGN.md §2).
const (
	WindowStart = 0
	WindowEnd   = 6 * time.Hour
)

// DailySlot returns the offset from local midnight at which nodeID sends its daily
// inventory: windowStart plus xxhash(nodeID) modulo the window, to the second. It is stable
// across runs and restarts and spreads a fleet evenly over the window. An empty or
// inverted window yields windowStart.
func DailySlot(nodeID string, windowStart, windowEnd time.Duration) time.Duration {
	width := int64((windowEnd - windowStart) / time.Second)
	if width <= 0 {
		return windowStart
	}
	return windowStart + time.Duration(xxhash.Sum64String(nodeID)%uint64(width))*time.Second
}

// NextRun returns the first daily inventory time of nodeID strictly after now, in loc
// (the node's local zone; nil means UTC). The slot is counted from local midnight as
// elapsed time, so on a day whose clocks change inside the window it lands an hour earlier
// or later on the wall clock, once.
func NextRun(nodeID string, now time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	slot := DailySlot(nodeID, WindowStart, WindowEnd)
	local := now.In(loc)
	for day := 0; day < 3; day++ {
		midnight := time.Date(local.Year(), local.Month(), local.Day()+day, 0, 0, 0, 0, loc)
		if t := midnight.Add(slot); t.After(now) {
			return t
		}
	}
	// Unreachable: the slot of the day after tomorrow is always after now.
	return now.Add(24 * time.Hour)
}
