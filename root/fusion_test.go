package root

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

// corpusDir finds ../shared/corpus/inventories from the test's directory upwards, or skips.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := filepath.Join(dir, "shared", "corpus", "inventories")
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no shared/corpus/inventories beside the repository: corpus tests skipped")
		}
		dir = parent
	}
}

func corpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clock is a settable time for the root under test.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

// collectedAt is when a corpus inventory says it was made.
func collectedAt(t testing.TB, b []byte) time.Time {
	t.Helper()
	inv, _, err := inventory.ParseFusion(bytes.NewReader(b), inventory.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return inv.CollectedAt
}

// startRootWith is startRoot with a configuration to adjust.
func startRootWith(t testing.TB, adjust func(*Config)) *testRoot {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	res, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: dir, QUICAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", InventoryWatchInterval: -1}
	if adjust != nil {
		adjust(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.Run(ctx); err != nil {
			t.Errorf("root run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		r.Close()
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(res.APICertPEM)
	return &testRoot{Root: r, init: res, api: &api.Client{
		BaseURL: "https://" + r.APIAddr().String(),
		Token:   res.AdminToken,
		HTTP:    &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}}
}

// post sends an inventory without a token, as another agent would; sig nil: raw body.
func (r *testRoot) post(t *testing.T, path string, inv, sig []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	ctype := "application/xml"
	if sig != nil {
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "inventory.ocs")
		fw.Write(inv)
		sw, _ := mw.CreateFormFile("signature", "inventory.ocs.sign")
		sw.Write(sig)
		mw.Close()
		ctype = mw.FormDataContentType()
	} else {
		body.Write(inv)
	}
	req, err := http.NewRequest(http.MethodPost, r.api.BaseURL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := r.api.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// withLogdate dates an inventory that says nothing of when it was made.
func withLogdate(b []byte, at time.Time) []byte {
	return bytes.Replace(b, []byte("<CONTENT>"), []byte("<CONTENT><ACCESSLOG><LOGDATE>"+at.UTC().Format("2006-01-02 15:04:05")+"</LOGDATE></ACCESSLOG>"), 1)
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestImportHTTP(t *testing.T) {
	deb := corpus(t, "debian12.ocs")
	debSig := corpus(t, "debian12.ocs.sign")
	centSig := corpus(t, "centos8.ocs.sign")
	at := collectedAt(t, deb)
	noRudder := withLogdate(corpus(t, "rudder-tag/minimal-no-rudder.ocs"), at)
	clk := newClock(at.Add(time.Hour))
	r := startRootWith(t, func(c *Config) { c.Now = clk.now })

	// debian12 with centos8's certificate: the same node id, another key.
	cent := string(corpus(t, "centos8.ocs"))
	certOf := func(s string) string {
		i := strings.Index(s, "<AGENT_CERT>")
		j := strings.Index(s, "</AGENT_CERT>")
		return s[i:j]
	}
	otherKey := []byte(strings.Replace(string(deb), certOf(string(deb)), certOf(cent), 1))
	older := []byte(strings.Replace(string(deb), "<LOGDATE>"+at.Format("2006-01-02"), "<LOGDATE>"+at.AddDate(0, 0, -3).Format("2006-01-02"), 1))
	truncated := deb[:len(deb)/2]

	tests := []struct {
		name     string
		body     []byte
		sig      []byte
		want     int
		wantText string
	}{
		{"malformed: truncated", truncated, nil, 412, "malformed"},
		{"malformed: not XML", []byte("hello"), nil, 412, "malformed"},
		{"localhost cannot identify a node", corpus(t, "rudder-tag/invalid-hostname-localhost.ocs"), nil, 412, "hostname"},
		{"two RUDDER sections", corpus(t, "rudder-tag/minimal-one-agent-two-rudder-fails.ocs"), nil, 412, "RUDDER"},
		{"signature of another file", deb, centSig, 401, "verify"},
		{"signature over an inventory without certificate", noRudder, debSig, 401, "no agent certificate"},
		{"signed Rudder inventory", deb, debSig, 200, `"signed": true`},
		{"the same again, gzipped", gz(deb), debSig, 200, `"stored": false`},
		{"unsigned after signed ones", deb, nil, 401, "signed inventories before"},
		{"another key for the node", otherKey, nil, 401, "pinned key"},
		{"too old", older, nil, 412, "too old"},
		{"inventory-only node", noRudder, nil, 200, `"inventoryOnly": true`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := r.post(t, "/api/v1/inventories", tc.body, tc.sig)
			if code != tc.want || !strings.Contains(string(body), tc.wantText) {
				t.Errorf("got %d %s, want %d with %q", code, body, tc.want, tc.wantText)
			}
		})
	}

	ctx := context.Background()
	n, err := r.api.Node(ctx, "e6cc8e97-01de-48bc-8fee-8f28970116d3")
	if err != nil {
		t.Fatal(err)
	}
	if n.Role != api.NodeRoleInventory || n.Status != api.StatusPending || !strings.HasPrefix(n.Hostname, "node3") || !strings.HasPrefix(n.KeyFingerprint, "sha256:") {
		t.Errorf("Rudder node: got %+v, want a pending inventory node node3 with its key pinned", n)
	}
	only := inventory.InventoryOnlyNodeID("foo")
	if n, err := r.api.Node(ctx, only); err != nil || n.Role != api.NodeRoleInventory {
		t.Errorf("inventory-only node %s: got %+v %v", only, n, err)
	}
	// An operator's accept does not make the import path able to change the node's status.
	if _, err := r.api.SetStatus(ctx, only, api.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	if code, body := r.post(t, "/api/v1/inventories", noRudder, nil); code != 200 {
		t.Fatalf("inventory of an accepted inventory-only node: %d %s", code, body)
	}
	if n, _ := r.api.Node(ctx, only); n.Status != api.StatusAccepted {
		t.Errorf("after a new inventory the accepted node is %s", n.Status)
	}
}

func TestImportRefusesBosunNodeAndRefusedNodes(t *testing.T) {
	deb := corpus(t, "debian12.ocs")
	clk := newClock(collectedAt(t, deb).Add(time.Hour))
	r := startRootWith(t, func(c *Config) { c.Now = clk.now })
	node := newNode(t, r)
	stub := node.stub(wire.RoleAgent, clk.now())
	stub.NodeID = "e6cc8e97-01de-48bc-8fee-8f28970116d3"
	stub.Key = node.id.Public()
	if _, err := r.reg.enrol(stub, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := r.api.Node(context.Background(), stub.NodeID)
	code, body := r.post(t, "/api/v1/inventories", deb, nil)
	if code != 401 || !strings.Contains(string(body), "bosun agent") {
		t.Errorf("inventory claiming a bosun node: got %d %s, want 401", code, body)
	}
	after, _ := r.api.Node(context.Background(), stub.NodeID)
	if after.Hostname != before.Hostname || after.Role != "agent" || after.KeyFingerprint != before.KeyFingerprint {
		t.Errorf("the bosun node changed: before %+v after %+v", before, after)
	}

	noRudder := withLogdate(corpus(t, "rudder-tag/minimal-no-rudder.ocs"), clk.now())
	if code, _ := r.post(t, "/api/v1/inventories", noRudder, nil); code != 200 {
		t.Fatalf("first inventory: %d", code)
	}
	id := inventory.InventoryOnlyNodeID("foo")
	if _, err := r.api.SetStatus(context.Background(), id, api.StatusRefused); err != nil {
		t.Fatal(err)
	}
	if code, body := r.post(t, "/api/v1/inventories", noRudder, nil); code != 401 || !strings.Contains(string(body), "refused") {
		t.Errorf("inventory of a refused node: got %d %s, want 401", code, body)
	}
}

func TestImportSignatureRequiredAndSaturation(t *testing.T) {
	deb := corpus(t, "debian12.ocs")
	clk := newClock(collectedAt(t, deb).Add(time.Hour))
	r := startRootWith(t, func(c *Config) {
		c.Now = clk.now
		c.RequireInventorySignature = true
		c.InventoryQueueSize = 1
	})
	if code, body := r.post(t, "/api/v1/inventories", deb, nil); code != 401 || !strings.Contains(string(body), "requires signed") {
		t.Errorf("unsigned where required: got %d %s, want 401", code, body)
	}
	release, ok := r.ingestQ.tryAcquire()
	if !ok {
		t.Fatal("queue busy")
	}
	q, err := r.api.InventoryQueue(context.Background())
	if err != nil || q != (api.InventoryQueue{QueueMaxSize: 1, QueueFillCount: 1, QueueSaturated: true}) {
		t.Errorf("queue: got %+v %v, want 1/1 saturated", q, err)
	}
	code, body := r.post(t, "/api/v1/inventories", deb, corpus(t, "debian12.ocs.sign"))
	release()
	if code != 503 {
		t.Errorf("saturated: got %d %s, want 503", code, body)
	}
	if code, body := r.post(t, "/api/v1/inventories", deb, corpus(t, "debian12.ocs.sign")); code != 200 {
		t.Errorf("signed once the queue has room: got %d %s, want 200", code, body)
	}
	var e api.Error
	_, body = r.post(t, "/api/v1/inventories", []byte("x"), nil)
	if json.Unmarshal(body, &e) != nil || e.Err.Code != api.CodeUnauthorized && e.Err.Code != api.CodeInventoryRefused {
		t.Errorf("error body: %s", body)
	}
}
