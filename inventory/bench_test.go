package inventory

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// BenchmarkCollect collects this machine; ms/op and MB-alloc/op are what the design budgets
// (≤ 300 ms; the process must stay ≤ 20 MB RSS).
func BenchmarkCollect(b *testing.B) {
	ctx := context.Background()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := Collect(ctx, CollectOptions{NodeID: "bench"}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(n), "ms/op")
	b.ReportMetric(float64(ms.TotalAlloc-before)/float64(n)/(1<<20), "MB-alloc/op")
}

// BenchmarkDeltaUnchanged encodes the delta of an inventory whose only change is its
// collection time: the daily message of a quiet node.
func BenchmarkDeltaUnchanged(b *testing.B) {
	old := corpusInventory(b, "centos8.ocs")
	next := *old
	next.CollectedAt = old.CollectedAt.Add(24 * time.Hour)
	var size int
	for b.Loop() {
		d, err := Diff(old, &next)
		if err != nil {
			b.Fatal(err)
		}
		enc, err := MarshalDelta(d)
		if err != nil {
			b.Fatal(err)
		}
		size = len(enc)
	}
	b.ReportMetric(float64(size), "bytes")
}

// BenchmarkParseFusion parses the largest corpus inventory (465 kB, 778 packages).
func BenchmarkParseFusion(b *testing.B) {
	raw := readCorpus(b, "centos8.ocs")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := ParseFusion(bytesReader(raw), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
