package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromiumPath is Debian's chromium package; .ci/run installs it.
const chromiumPath = "/usr/bin/chromium"

var dashboardScreenshot = flag.String("dashboard-screenshot", "", "also write the dashboard test's screenshot here (docs/dashboard.png)")

// cliConfig is the CLI configuration root init wrote: where the API is, its token and the
// certificate to pin.
type cliConfig struct {
	Root     string `json:"root"`
	Token    string `json:"token"`
	RootCert string `json:"rootCert"`
}

func (f *fleet) cliConfig() cliConfig {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "cli.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	var c cliConfig
	if err := json.Unmarshal(b, &c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// apiClient calls the root's API as a browser would, pinned to the root's certificate.
type apiClient struct {
	cfg  cliConfig
	http *http.Client
}

func newAPIClient(t *testing.T, cfg cliConfig) *apiClient {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(cfg.RootCert)) {
		t.Fatal("no certificate in the CLI configuration")
	}
	return &apiClient{cfg: cfg, http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

// get returns the status and body of GET path with the given token ("" for none).
func (c *apiClient) get(path, token string) (int, []byte, error) {
	req, err := http.NewRequest("GET", c.cfg.Root+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *apiClient) json(t *testing.T, path string, out any) {
	t.Helper()
	code, b, err := c.get(path, c.cfg.Token)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, code, b, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// spkiHash is what --ignore-certificate-errors-spki-list takes: the base64 SHA-256 of the
// certificate's public key, so the browser trusts this certificate and no other.
func spkiHash(t *testing.T, certPEM string) string {
	blk, _ := pem.Decode([]byte(certPEM))
	if blk == nil {
		t.Fatal("API certificate: no PEM block")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// browser runs headless Chromium once per page, each time with a fresh profile.
type browser struct {
	t    *testing.T
	spki string
}

// run starts chromium with the page-specific args and returns its stdout. The process
// group is killed on the timeout and after exit, so no renderer outlives the test.
func (b *browser) run(args ...string) []byte {
	b.t.Helper()
	home := b.t.TempDir()
	argv := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + filepath.Join(home, "profile"), "--ignore-certificate-errors-spki-list=" + b.spki,
		// Virtual time stops while fetches are pending, so the budget is the page's script
		// time, not the network's; the timeout below bounds the whole process.
		"--virtual-time-budget=15000", "--window-size=1280,800", "--hide-scrollbars"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath, argv...)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		b.t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(args, " "), err, lastLines(errb.String(), 30))
	}
	return out.Bytes()
}

// dom loads url and returns the DOM once the page says it is done (body data-state ready,
// login or error).
func (b *browser) dom(url string) string {
	b.t.Helper()
	d := string(b.run("--dump-dom", url))
	if !strings.Contains(d, "<body") {
		b.t.Fatalf("chromium dumped no page for %s:\n%s", redact(url), d)
	}
	return d
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func redact(url string) string {
	if i := strings.Index(url, "token="); i >= 0 {
		return url[:i] + "token=…"
	}
	return url
}

var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	bodyRE  = regexp.MustCompile(`<body[^>]*\bdata-state="([a-z]+)"`)
	trRE    = regexp.MustCompile(`(?s)<tr\b([^>]*)>(.*?)</tr>`)
	cellsRE = regexp.MustCompile(`(?s)<td\b[^>]*>(.*?)</td>`)
)

// visible is the text a person reads in a piece of markup.
func visible(markup string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(markup, " "))), " ")
}

func pageState(dom string) string {
	if m := bodyRE.FindStringSubmatch(dom); m != nil {
		return m[1]
	}
	return ""
}

// byID is the visible text of the element with that id, nested elements included.
func byID(dom, id string) string {
	m := regexp.MustCompile(`<(\w+)\b[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindStringSubmatchIndex(dom)
	if m == nil {
		return ""
	}
	name := dom[m[2]:m[3]]
	open := regexp.MustCompile(`<(/?)` + name + `\b[^>]*>`)
	depth := 1
	for _, t := range open.FindAllStringSubmatchIndex(dom[m[1]:], -1) {
		if t[3] > t[2] {
			depth--
		} else {
			depth++
		}
		if depth == 0 {
			return visible(dom[m[1] : m[1]+t[0]])
		}
	}
	return visible(dom[m[1]:])
}

// rows returns the cells' text of the table rows carrying attr="value".
func rows(dom, attr, value string) [][]string {
	var out [][]string
	for _, m := range trRE.FindAllStringSubmatch(dom, -1) {
		if !strings.Contains(m[1], attr+`="`+html.EscapeString(value)+`"`) {
			continue
		}
		var cells []string
		for _, c := range cellsRE.FindAllStringSubmatch(m[2], -1) {
			cells = append(cells, visible(c[1]))
		}
		out = append(out, cells)
	}
	return out
}

// percent formats a share as the page does: hundredths at most, no trailing zeros.
func percent(p *float64) string {
	if p == nil {
		return "–"
	}
	return strconv.FormatFloat(math.Round(*p*100)/100, 'f', -1, 64) + " %"
}

// What the test reads from the API to compare with the page.
type (
	apiFleet struct {
		Compliance *float64
		Nodes      int
		Rules      []struct {
			ID, Name              string
			Nodes, NodesCompliant int64
		}
	}
	apiComplianceNodes struct {
		Nodes []struct {
			NodeID, Hostname, Worst string
			Compliance              *float64
			Score                   struct{ Score string }
		}
	}
	apiRelays struct {
		Relays []struct {
			Node  struct{ ID, Hostname string }
			Stats *struct {
				QueueDepth uint64
				UpstreamUp bool
				Zone       string
			}
		}
	}
	apiDrift struct {
		Events []struct {
			Kind, NodeID, Hostname, DirectiveID, ComponentName, State string
		}
	}
)

// TestDashboard opens the dashboard in headless Chromium against a fleet like the demo's
// (a root, a relay in zone "demo", three agents on the example policy, the third forced to
// audit so its motd stays non-compliant) and checks what a person sees: the fleet's
// compliance, the rule, the nodes with their scores, the drift events, the relay with its
// queue depth; then the drill-downs to the rule and to a node's components, and the login
// form for a missing or refused token.
func TestDashboard(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (Debian's chromium package, which .ci/run installs): the dashboard's browser test needs it", chromiumPath)
	}
	f := newFleet(t)
	addrs := f.initRoot()
	gossip := func() string { return fmt.Sprintf("127.0.0.1:%d", freePort(t)) }
	f.start("root", "root", "--data", filepath.Join(f.dir, "root"), "--listen", addrs.quic, "--api-listen", addrs.api,
		"--gossip-listen", gossip(), "--gossip-profile", "local", "--log-level", "debug")
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	f.start("relay1", "relay", "--data", filepath.Join(f.dir, "relay1"), "--listen", relayAddr, "--upstream", addrs.quic,
		"--zone", "demo", "--gossip-listen", gossip(), "--gossip-profile", "local",
		"--core-gossip-listen", gossip(), "--core-gossip-profile", "local",
		"--stats-interval", "1s", "--upstream-timeout", "2s", "--log-level", "debug")
	hosts := []string{"demo-agent-1", "demo-agent-2", "demo-agent-3"}
	f.must("agent", "set-force-audit", "--data", filepath.Join(f.dir, hosts[2]))
	for _, h := range hosts {
		f.start(h, "agent", "--data", filepath.Join(f.dir, h), "--server", relayAddr, "--hostname", h,
			"--interval", "1s", "--run-interval", "2s", "--root-prefix", filepath.Join(f.dir, h+"-tree"),
			"--gossip-listen", "127.0.0.1:0", "--gossip-profile", "local", "--log-level", "debug")
	}
	relay := f.waitNode(hostnameOf(t), "pending")
	f.must("nodes", "accept", relay.ID)
	ids := map[string]string{}
	for _, h := range hosts {
		n := f.waitNode(h, "pending")
		f.must("nodes", "accept", n.ID)
		ids[h] = n.ID
	}
	f.must("apply", "-f", "../examples/")

	// Settled: every agent ran its newest policy, demo-agent-3's motd is non-compliant
	// with the agent's message, and the others' is compliant.
	var message string
	eventually(t, 90*time.Second, "the demo's compliance settled", func() (bool, string) {
		var seen []string
		for _, h := range hosts {
			c, s := f.complianceNode(ids[h])
			st, mode, msg, ok := c.states("demo-motd")
			seen = append(seen, s)
			switch {
			case !ok:
				return false, strings.Join(seen, "\n")
			case h == hosts[2] && (mode != "audit" || !anyIs(st, "non-compliant") || msg == ""):
				return false, strings.Join(seen, "\n")
			case h != hosts[2] && (mode != "enforce" || !allIn(st, "success", "not-applicable")):
				return false, strings.Join(seen, "\n")
			}
			if h == hosts[2] {
				message = firstLine(msg)
			}
		}
		return true, ""
	})
	cfg := f.cliConfig()
	api := newAPIClient(t, cfg)
	eventually(t, 30*time.Second, "the relay's figures and a non-compliant drift event", func() (bool, string) {
		var rl apiRelays
		var dr apiDrift
		api.json(t, "/api/v1/relays", &rl)
		api.json(t, "/api/v1/drift?limit=10", &dr)
		drift := false
		for _, e := range dr.Events {
			drift = drift || (e.Kind == "non-compliant" && e.NodeID == ids[hosts[2]])
		}
		return len(rl.Relays) == 1 && rl.Relays[0].Stats != nil && rl.Relays[0].Stats.Zone == "demo" && drift, fmt.Sprintf("%+v %+v", rl, dr)
	})

	// The API the page reads refuses anyone without a token, and the shell names nobody.
	for _, p := range []string{"/api/v1/compliance", "/api/v1/compliance/nodes", "/api/v1/compliance/nodes?sort=compliance&limit=10", "/api/v1/nodes", "/api/v1/nodes/counts", "/api/v1/relays", "/api/v1/drift", "/api/v1/compliance/rules/demo", "/api/v1/nodes/" + ids[hosts[0]] + "/inventory"} {
		if code, b, err := api.get(p, ""); err != nil || code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d %s %v, want 401", p, code, b, err)
		}
	}
	for _, p := range []string{"/ui/", "/ui/app.js"} {
		code, b, err := api.get(p, "")
		if err != nil || code != http.StatusOK || bytes.Contains(b, []byte("demo-agent")) {
			t.Errorf("GET %s without a token: %d %v; want the shell, naming no node", p, code, err)
		}
	}

	br := &browser{t: t, spki: spkiHash(t, cfg.RootCert)}
	base := cfg.Root + "/ui/"

	// Without a token, or with a refused one, the page asks for one and shows nothing else.
	dom := br.dom(base)
	if pageState(dom) != "login" || !strings.Contains(dom, `id="login"`) || strings.Contains(dom, "demo-agent") {
		t.Errorf("without a token: state %q, want the login form and no fleet data:\n%s", pageState(dom), visible(dom))
	}
	dom = br.dom(base + "#token=bosun_refused")
	if pageState(dom) != "login" || !strings.Contains(byID(dom, "banner"), "refused") || strings.Contains(dom, "demo-agent") {
		t.Errorf("with an unknown token: state %q, banner %q; want the login form saying the token was refused", pageState(dom), byID(dom, "banner"))
	}

	// The overview, read from the API just before and just after, so a figure that moved in
	// between is not held against the page.
	var fleetBefore, fleetAfter apiFleet
	var nodesBefore apiComplianceNodes
	var relaysBefore apiRelays
	api.json(t, "/api/v1/compliance", &fleetBefore)
	api.json(t, "/api/v1/compliance/nodes", &nodesBefore)
	api.json(t, "/api/v1/relays", &relaysBefore)
	dom = br.dom(base + "#token=" + cfg.Token)
	api.json(t, "/api/v1/compliance", &fleetAfter)
	if pageState(dom) != "ready" {
		t.Fatalf("overview: state %q, banner %q:\n%s", pageState(dom), byID(dom, "banner"), visible(dom))
	}
	t.Logf("overview as a person reads it:\n%s", visible(dom))
	if strings.Contains(dom, cfg.Token) {
		t.Errorf("the token is in the page")
	}
	got := byID(dom, "fleet-compliance")
	if want := percent(fleetBefore.Compliance); got != want && percent(fleetAfter.Compliance) == want {
		t.Errorf("fleet compliance: page shows %q, API says %q", got, want)
	} else if !regexp.MustCompile(`^\d+(\.\d+)? %$`).MatchString(got) {
		t.Errorf("fleet compliance: page shows %q, want a percentage", got)
	}
	for _, r := range fleetBefore.Rules {
		rr := rows(dom, "data-rule", r.ID)
		if len(rr) != 1 || rr[0][0] != r.Name || !strings.Contains(strings.Join(rr[0], " | "), fmt.Sprintf("%d / %d", r.NodesCompliant, r.Nodes)) {
			t.Errorf("rule %s: page row %q, want %q with %d / %d nodes compliant", r.ID, rr, r.Name, r.NodesCompliant, r.Nodes)
		}
	}
	if len(fleetBefore.Rules) == 0 {
		t.Error("the API lists no rule")
	}
	for _, n := range nodesBefore.Nodes {
		if !strings.HasPrefix(n.Hostname, "demo-agent-") {
			continue
		}
		rr := rows(dom, "data-hostname", n.Hostname)
		// Hostname, role, status, liveness, score, compliance, bar, worst, ...
		if len(rr) != 1 || len(rr[0]) < 8 || rr[0][0] != n.Hostname || rr[0][2] != "accepted" || rr[0][4] != n.Score.Score || rr[0][5] != percent(n.Compliance) {
			t.Errorf("node %s: page row %q, want score %s and compliance %s", n.Hostname, rr, n.Score.Score, percent(n.Compliance))
		}
	}
	if rr := rows(dom, "data-hostname", hosts[2]); len(rr) == 1 && len(rr[0]) >= 8 && rr[0][7] != "non-compliant" && !strings.Contains(rr[0][7], "error") {
		t.Errorf("%s: worst state %q on the page, want non-compliant (or worse)", hosts[2], rr[0][7])
	}
	drift := false
	for _, r := range rows(dom, "data-drift", "non-compliant") {
		line := strings.Join(r, " | ")
		drift = drift || (strings.Contains(line, hosts[2]) && strings.Contains(line, "non-compliant"))
	}
	if !drift {
		t.Errorf("no non-compliant drift event of %s on the page: %q", hosts[2], rows(dom, "data-drift", "non-compliant"))
	}
	rel := relaysBefore.Relays[0]
	rr := rows(dom, "data-relay", rel.Node.ID)
	// Zone, relay, via, nodes, queued, ...
	if len(rr) != 1 || len(rr[0]) < 10 || rr[0][0] != "demo" || rr[0][1] != rel.Node.Hostname || rr[0][3] != "3" ||
		!regexp.MustCompile(`^\d+$`).MatchString(rr[0][4]) || !strings.HasPrefix(rr[0][9], "up") {
		t.Errorf("relay: page row %q, want zone demo, %s, 3 nodes, a queue depth and the uplink up", rr, rel.Node.Hostname)
	} else if rel.Stats.QueueDepth == 0 && rr[0][4] != "0" {
		t.Logf("relay queue depth: page %s, API %d a moment before", rr[0][4], rel.Stats.QueueDepth)
	}

	// Drill-down to the rule: its nodes, and the components that are not compliant with
	// the agent's message.
	dom = br.dom(base + "#/rules/demo?token=" + cfg.Token)
	if pageState(dom) != "ready" {
		t.Fatalf("rule demo: state %q, banner %q", pageState(dom), byID(dom, "banner"))
	}
	for _, h := range hosts {
		if len(rows(dom, "data-hostname", h)) != 1 {
			t.Errorf("rule demo: no row for %s:\n%s", h, visible(dom))
		}
	}
	motd := false
	for _, r := range rows(dom, "data-state", "non-compliant") {
		line := strings.Join(r, " | ")
		motd = motd || (strings.Contains(line, "Demo message of the day") && strings.Contains(line, message))
	}
	if !motd {
		t.Errorf("rule demo: no non-compliant motd component with the message %q:\n%s", message, visible(dom))
	}

	// The paged node list: by hostname, filtered to the demo agents, one page of three rows
	// in hostname order with the compliance of each.
	dom = br.dom(base + "#/nodes?sort=hostname&q=DEMO-agent&token=" + cfg.Token)
	if pageState(dom) != "ready" {
		t.Fatalf("#/nodes: state %q, banner %q", pageState(dom), byID(dom, "banner"))
	}
	pager := regexp.MustCompile(`id="nodes-pager"[^>]*data-total="(\d+)"|data-total="(\d+)"[^>]*id="nodes-pager"`).FindStringSubmatch(dom)
	if pager == nil || pager[1]+pager[2] != "3" || !strings.Contains(byID(dom, "nodes-pager"), "1–3 of 3") {
		t.Errorf("#/nodes?q=DEMO-agent: pager %q (%q), want 3 nodes on page 1 of 1", byID(dom, "nodes-pager"), pager)
	}
	for _, n := range nodesBefore.Nodes {
		if !strings.HasPrefix(n.Hostname, "demo-agent-") {
			continue
		}
		if rr := rows(dom, "data-hostname", n.Hostname); len(rr) != 1 || len(rr[0]) < 8 || rr[0][2] != "accepted" || rr[0][4] != n.Score.Score {
			t.Errorf("#/nodes: row of %s %q, want accepted with score %s", n.Hostname, rr, n.Score.Score)
		}
	}
	if i, j := strings.Index(dom, `data-hostname="demo-agent-1"`), strings.Index(dom, `data-hostname="demo-agent-3"`); i < 0 || j < i {
		t.Errorf("#/nodes?sort=hostname: demo-agent-1 at %d, demo-agent-3 at %d; want them in hostname order", i, j)
	}
	if len(rows(dom, "data-hostname", rel.Node.Hostname)) != 0 {
		t.Errorf("#/nodes?q=DEMO-agent lists the relay %s", rel.Node.Hostname)
	}

	// Drill-down to a node: its score, components with state and message, inventory.
	dom = br.dom(base + "#/nodes/" + ids[hosts[2]] + "?token=" + cfg.Token)
	if pageState(dom) != "ready" {
		t.Fatalf("node %s: state %q, banner %q", hosts[2], pageState(dom), byID(dom, "banner"))
	}
	var nd struct {
		Node struct {
			Score struct{ Score string }
		}
	}
	api.json(t, "/api/v1/compliance/nodes/"+ids[hosts[2]], &nd)
	if got := byID(dom, "node-score"); got != nd.Node.Score.Score {
		t.Errorf("node %s: score %q on the page, API says %q", hosts[2], got, nd.Node.Score.Score)
	}
	motd = false
	for _, r := range rows(dom, "data-component", "Message of the day") {
		line := strings.Join(r, " | ")
		motd = motd || (strings.Contains(line, "audit") && strings.Contains(line, "non-compliant") && strings.Contains(line, message))
	}
	if !motd {
		t.Errorf("node %s: no non-compliant motd component with the message %q: %q", hosts[2], message, rows(dom, "data-component", "Message of the day"))
	}
	inv := byID(dom, "inventory")
	for _, want := range []string{"OS", "Kernel", "Software", "packages"} {
		if !strings.Contains(inv, want) {
			t.Errorf("node %s: the inventory lacks %q: %q", hosts[2], want, inv)
		}
	}

	// One screenshot of the overview, as docs/dashboard.png shows it.
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	br.run("--screenshot="+shot, base+"#token="+cfg.Token)
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 20_000 {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	if *dashboardScreenshot != "" {
		if err := os.WriteFile(*dashboardScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
