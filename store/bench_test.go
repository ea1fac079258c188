//go:build unix

package store

import (
	"io"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
)

// benchQueues are the queues as the roles open them: a relay's and the
// root's Badger, and the agent's spool with its default segments.
var benchQueues = []queueImpl{
	{"badger-relay", badgerBench(ProfileRelay)},
	{"badger-root", badgerBench(ProfileRoot)},
	{"spool", func(t testing.TB, dir string, maxBytes int64) (Queue, io.Closer) {
		s, err := OpenSpool(dir, SpoolOptions{MaxBytes: maxBytes})
		if err != nil {
			t.Fatal(err)
		}
		return s, s
	}},
}

func badgerBench(p Profile) func(t testing.TB, dir string, maxBytes int64) (Queue, io.Closer) {
	return func(t testing.TB, dir string, maxBytes int64) (Queue, io.Closer) {
		db, err := Open(dir, Options{Profile: p})
		if err != nil {
			t.Fatal(err)
		}
		q, err := db.QueueWithOptions("reports", QueueOptions{MaxBytes: maxBytes})
		if err != nil {
			t.Fatal(err)
		}
		return q, db
	}
}

const benchBatch, benchRecord = 100, 200

func benchRecords() [][]byte {
	batch := make([][]byte, benchBatch)
	for i := range batch {
		batch[i] = make([]byte, benchRecord)
		for j := range batch[i] {
			batch[i][j] = byte(i*31 + j)
		}
	}
	return batch
}

// BenchmarkQueueAppend appends batches of 100 records of 200 bytes, one
// fsync per batch.
func BenchmarkQueueAppend(b *testing.B) {
	for _, impl := range benchQueues {
		b.Run(impl.name, func(b *testing.B) {
			q, c := impl.open(b, dataDir(b), 0)
			defer c.Close()
			batch := benchRecords()
			n := 0
			for b.Loop() {
				if _, err := q.Append(batch...); err != nil {
					b.Fatal(err)
				}
				n += len(batch)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rec/s")
		})
	}
}

// BenchmarkQueueDrain peeks 100 records and acks them, as a relay
// forwarding its spool once the uplink returns.
func BenchmarkQueueDrain(b *testing.B) {
	const fill = 20_000
	for _, impl := range benchQueues {
		b.Run(impl.name, func(b *testing.B) {
			q, c := impl.open(b, dataDir(b), 0)
			defer c.Close()
			batch := benchRecords()
			refill := func() {
				for range fill / benchBatch {
					if _, err := q.Append(batch...); err != nil {
						b.Fatal(err)
					}
				}
			}
			refill()
			n := 0
			for b.Loop() {
				recs, err := q.Peek(benchBatch)
				if err != nil {
					b.Fatal(err)
				}
				if len(recs) == 0 {
					b.Fatal("queue empty")
				}
				if err := q.Ack(recs[len(recs)-1].Seq); err != nil {
					b.Fatal(err)
				}
				n += len(recs)
				if q.Stats().Depth == 0 {
					b.StopTimer()
					refill()
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rec/s")
		})
	}
}

// BenchmarkQueueDisk reports the disk blocks used per queued 200-byte
// record after 10,000 records and a close, which flushes Badger's
// memtable into a table.
func BenchmarkQueueDisk(b *testing.B) {
	const records = 10_000
	for _, impl := range benchQueues {
		b.Run(impl.name, func(b *testing.B) {
			batch := benchRecords()
			var used int64
			for b.Loop() {
				dir := dataDir(b)
				q, c := impl.open(b, dir, 0)
				for range records / benchBatch {
					if _, err := q.Append(batch...); err != nil {
						b.Fatal(err)
					}
				}
				if err := c.Close(); err != nil {
					b.Fatal(err)
				}
				used = diskUsage(b, dir)
			}
			b.ReportMetric(float64(used)/records, "disk-B/rec")
		})
	}
}

// diskUsage sums allocated blocks, not apparent sizes: Badger's files are
// sparse.
func diskUsage(tb testing.TB, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return total
}
