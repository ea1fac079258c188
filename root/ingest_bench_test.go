package root

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/wire"
)

// BenchmarkIngestInventories measures the root's ingestion rate of full inventories of this
// machine (collected once, ~700 packages on a Debian host) sent by 100 enrolled nodes,
// through the real path (signature check, queue, decode, validation, Badger write with
// history) into a real Badger directory. Each iteration ingests 500 uploads, built
// beforehand with the timer stopped, by 1 or 8 concurrent senders.
func BenchmarkIngestInventories(b *testing.B) {
	const nodes, perIter = 100, 500
	base, err := inventory.Collect(context.Background(), inventory.CollectOptions{NodeID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for _, senders := range []int{1, 8} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "root")
			if _, err := Init(dir, InitOptions{}); err != nil {
				b.Fatal(err)
			}
			r, err := New(Config{DataDir: dir, QUICAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", InventoryQueueSize: 64, InventoryWatchInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			type benchNode struct {
				id  string
				key ed25519.PrivateKey
			}
			var ns []benchNode
			for i := range nodes {
				pub, key, _ := ed25519.GenerateKey(nil)
				id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
				stub := wire.EnrolStub{NodeID: id, Hostname: fmt.Sprintf("bench%03d", i), OS: "Debian 12", Role: wire.RoleAgent, Time: time.Now(), Key: pub}
				if _, err := r.reg.enrol(stub, nil); err != nil {
					b.Fatal(err)
				}
				ns = append(ns, benchNode{id, key})
			}
			at := time.Now().Add(-time.Hour)
			var size int
			build := func() []*wire.InventoryUpload {
				ups := make([]*wire.InventoryUpload, 0, perIter)
				for i := range perIter {
					n := ns[i%nodes]
					inv := *base
					inv.NodeID, inv.Hostname = n.id, fmt.Sprintf("bench%03d", i%nodes)
					at = at.Add(time.Millisecond)
					inv.CollectedAt = at
					payload, err := inventory.Marshal(&inv)
					if err != nil {
						b.Fatal(err)
					}
					h, _ := inventory.Hash(&inv)
					size = len(payload)
					ups = append(ups, wire.NewInventoryUpload(wire.InventoryBody{NodeID: n.id, Collected: at, Kind: wire.InventoryFull, Hash: h, Payload: payload}, n.key))
				}
				return ups
			}
			var total int
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				ups := build()
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				errs := make(chan error, senders)
				for s := range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := s; i < len(ups); i += senders {
							for {
								_, err := r.ingestUpload(ups[i], nil)
								if err == ErrQueueSaturated {
									continue
								}
								if err != nil {
									errs <- err
									return
								}
								break
							}
						}
					}()
				}
				wg.Wait()
				elapsed += time.Since(start)
				total += len(ups)
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "inventories/s")
			b.ReportMetric(float64(size), "B/inventory")
		})
	}
}

// BenchmarkImportFusion measures the import of the largest corpus inventory (centos8.ocs,
// 465 kB of XML, 778 packages) through the HTTP import path, without HTTP: parse, checks,
// Badger write.
func BenchmarkImportFusion(b *testing.B) {
	raw := corpus(b, "centos8.ocs")
	at := collectedAt(b, raw)
	clk := newClock(at.Add(time.Hour))
	dir := filepath.Join(b.TempDir(), "root")
	if _, err := Init(dir, InitOptions{}); err != nil {
		b.Fatal(err)
	}
	r, err := New(Config{DataDir: dir, QUICAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", InventoryWatchInterval: -1, Now: clk.now})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.SetBytes(int64(len(raw)))
	i := 0
	for b.Loop() {
		// A new device each time, so that every import stores a new node.
		doc := bytes.Replace(raw, []byte("<DEVICEID>"), []byte(fmt.Sprintf("<DEVICEID>%d-", i)), 1)
		doc = bytes.Replace(doc, []byte("<RUDDER>"), []byte("<RUDDER_NOT>"), 1)
		doc = bytes.Replace(doc, []byte("</RUDDER>"), []byte("</RUDDER_NOT>"), 1)
		i++
		if _, err := r.ingestImport(doc, nil, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "inventories/s")
}
