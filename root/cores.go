package root

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// onEveryCore calls fn(i) for every i in [0, n) on as many goroutines as there are cores,
// each taking the next i when it is done with one, so that slow items do not leave a core
// idle. Once fn returns false no further i is started. The work that wants it is decoding
// stored inventories, which a 2-core root does for 100,000 nodes at a time.
func onEveryCore(n int, fn func(i int) bool) {
	var next atomic.Int64
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for !stopped.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if !fn(i) {
					stopped.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
}
