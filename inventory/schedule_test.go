package inventory

import (
	"fmt"
	"testing"
	"time"
)

func TestDailySlotStableAndInWindow(t *testing.T) {
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("node-%d", i)
		a := DailySlot(id, WindowStart, WindowEnd)
		if b := DailySlot(id, WindowStart, WindowEnd); a != b {
			t.Fatalf("%s: got %v then %v, want a stable slot", id, a, b)
		}
		if a < WindowStart || a >= WindowEnd || a%time.Second != 0 {
			t.Fatalf("%s: got %v, want a whole second in [%v, %v)", id, a, WindowStart, WindowEnd)
		}
	}
	if got := DailySlot("x", time.Hour, time.Hour); got != time.Hour {
		t.Errorf("empty window: got %v, want its start", got)
	}
	if got := DailySlot("x", 2*time.Hour, time.Hour); got != 2*time.Hour {
		t.Errorf("inverted window: got %v, want its start", got)
	}
}

// TestDailySlotSpread: 10,000 ids over the 6-hour window, in 36 buckets of 10 minutes,
// each within 25% of the mean (≈278), which a uniform draw passes with a wide margin.
func TestDailySlotSpread(t *testing.T) {
	const n, buckets = 10000, 36
	var count [buckets]int
	width := (WindowEnd - WindowStart) / buckets
	for i := 0; i < n; i++ {
		s := DailySlot(fmt.Sprintf("%08x-5030-4699-984d-b03d28bbbf36", i), WindowStart, WindowEnd)
		count[(s-WindowStart)/width]++
	}
	mean := n / buckets
	for b, c := range count {
		if c < mean*3/4 || c > mean*5/4 {
			t.Errorf("bucket %d (%v): got %d ids, want %d ± 25%%", b, time.Duration(b)*width, c, mean)
		}
	}
}

func TestNextRun(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	id := "e6cc8e97-01de-48bc-8fee-8f28970116d3"
	slot := DailySlot(id, WindowStart, WindowEnd)
	day := time.Date(2025, 6, 10, 0, 0, 0, 0, paris)
	tests := []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"before the slot: today", day.Add(slot - time.Minute), day.Add(slot)},
		{"at the slot: tomorrow", day.Add(slot), day.AddDate(0, 0, 1).Add(slot)},
		{"evening: tomorrow", day.Add(22 * time.Hour), day.AddDate(0, 0, 1).Add(slot)},
	}
	for _, tt := range tests {
		if got := NextRun(id, tt.now, paris); !got.Equal(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// Whatever the time and zone, the next run is within a day and inside the local window.
	for i := 0; i < 500; i++ {
		now := time.Date(2025, 3, 29, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 17 * time.Minute)
		got := NextRun(fmt.Sprint("n", i), now, paris)
		if !got.After(now) || got.Sub(now) > 25*time.Hour {
			t.Fatalf("NextRun(n%d, %v): got %v, want within the next day", i, now, got)
		}
		if h := got.In(paris).Hour(); h >= 7 { // 6 plus the DST hour
			t.Fatalf("NextRun(n%d, %v): got %v local, want inside 00:00–06:00", i, now, got.In(paris))
		}
	}
	if got := NextRun(id, day, nil); got.Location() != time.UTC {
		t.Errorf("nil location: got %v, want UTC", got.Location())
	}
}
