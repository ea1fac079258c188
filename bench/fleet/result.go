package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// ResultSchemaVersion is the version of Result's JSON.
const ResultSchemaVersion = 1

// Result is what one run measured. Durations are in seconds or milliseconds as their names
// say; rates are per second of wall time; bytes are frames as they cross a link.
type Result struct {
	SchemaVersion int       `json:"schemaVersion"`
	Started       time.Time `json:"started"`
	Machine       Machine   `json:"machine"`
	Config        RunConfig `json:"config"`

	EnrolSeconds      float64 `json:"enrolSeconds"`      // first enrolment sent → every node pending at the root, with its inventory
	EnrolPerSecond    float64 `json:"enrolPerSecond"`    // nodes
	InventoryBytes    float64 `json:"inventoryBytes"`    // mean signed full inventory frame
	AcceptSeconds     float64 `json:"acceptSeconds"`     // every node accepted through the API, policies compiled and stored
	AcceptPerSecond   float64 `json:"acceptPerSecond"`   // nodes
	FetchSeconds      float64 `json:"fetchSeconds"`      // every node fetched its first policy
	FetchPerSecond    float64 `json:"fetchPerSecond"`    // nodes
	PolicyFullBytes   float64 `json:"policyFullBytes"`   // mean exchange (request and reply) of a first policy
	PolicyDeltaBytes  float64 `json:"policyDeltaBytes"`  // mean exchange of a policy delta after the change
	PolicyDeltas      int     `json:"policyDeltas"`      // nodes that fetched one
	ContactBytes      float64 `json:"contactBytes"`      // mean status exchange (request and reply)
	CompileFullMs     float64 `json:"compileFullMs"`     // the root's figure for regenerating every policy
	CompileFullWallMs float64 `json:"compileFullWallMs"` // the API call, nodes loaded from the store included
	CompileChangeMs   float64 `json:"compileChangeMs"`   // the root's figure for one directive changed
	CompileChangeWall float64 `json:"compileChangeWallMs"`
	ChangeNodes       int     `json:"changeNodes"` // nodes whose policy the change reached

	RunWallSeconds     float64 `json:"runWallSeconds"`
	RunFleetSeconds    float64 `json:"runFleetSeconds"`
	Reports            uint64  `json:"reports"`
	Results            uint64  `json:"results"`            // component results in those reports
	OfferedPerSecond   float64 `json:"offeredPerSecond"`   // component results sent per second
	IngestedPerSecond  float64 `json:"ingestedPerSecond"`  // component results the root acknowledged per second, during the run
	DrainSeconds       float64 `json:"drainSeconds"`       // after the run, until every relay's queue was empty
	MaxRelayQueue      uint64  `json:"maxRelayQueue"`      // deepest relay queue seen (items)
	ContactsSkipped    uint64  `json:"contactsSkipped"`    // status requests not sent: the zone had too many in flight
	AskErrors          uint64  `json:"askErrors"`          // status and policy requests that failed
	BurstReports       uint64  `json:"burstReports"`       // one report from every reporting node, at once
	BurstSeconds       float64 `json:"burstSeconds"`       // until the root took them all
	BurstPerSecond     float64 `json:"burstPerSecond"`     // component results
	LatencySamples     int     `json:"latencySamples"`     // runs whose arrival at the root was watched
	LatencyP50Ms       float64 `json:"latencyP50Ms"`       // a run's end → its compliance shown by the API
	LatencyP99Ms       float64 `json:"latencyP99Ms"`       //
	LatencyMaxMs       float64 `json:"latencyMaxMs"`       //
	LatencyLost        int     `json:"latencyLost"`        // watched runs not shown within 2 min
	ReportBytes        float64 `json:"reportBytes"`        // mean report frame, as an agent sends it to its relay
	ForwardBytesPerRun float64 `json:"forwardBytesPerRun"` // zone → relay, batched, per report
	UplinkBytesPerRun  float64 `json:"uplinkBytesPerRun"`  // relay → root, everything the relays sent, per report
	UplinkReportBytes  float64 `json:"uplinkReportBytes"`  // that without the nodes' proxied requests: the reports' own

	RootRSS        uint64  `json:"rootRSS"`        // bytes, at the end of the run phase
	RootPeakRSS    uint64  `json:"rootPeakRSS"`    // bytes, since start
	RootAnonRSS    uint64  `json:"rootAnonRSS"`    // of RootRSS, heap and stacks (the rest: Badger's mapped files)
	RootCPU        float64 `json:"rootCPU"`        // cores used during the run phase (1 = one core busy)
	RelayRSS       uint64  `json:"relayRSS"`       // bytes, the largest relay at the end of the run phase
	RelayPeakRSS   uint64  `json:"relayPeakRSS"`   // the largest relay's since start
	RelaysCPU      float64 `json:"relaysCPU"`      // cores, every relay together, during the run phase
	SimCPU         float64 `json:"simCPU"`         // cores, the simulator itself, during the run phase
	SimRSS         uint64  `json:"simRSS"`         //
	RootDiskBytes  int64   `json:"rootDiskBytes"`  // the root's Badger directory at the end
	RootDiskEmpty  int64   `json:"rootDiskEmpty"`  // the same before the first node enrolled
	DiskPerNode    float64 `json:"diskPerNode"`    // the growth ÷ nodes
	RelayDiskBytes int64   `json:"relayDiskBytes"` // every relay's Badger directory together

	SummaryMs     float64 `json:"summaryMs"`     // GET /api/v1/compliance, median of 5
	SummaryMaxMs  float64 `json:"summaryMaxMs"`  //
	NodeListMs    float64 `json:"nodeListMs"`    // GET /api/v1/inventory/nodes?where=hostname~^sim-000, median of 3
	NodeListCount int     `json:"nodeListCount"` // nodes it listed

	Profiles []string `json:"profiles,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// RunConfig is the configuration a Result was measured with.
type RunConfig struct {
	Nodes      int     `json:"nodes"`
	Relays     int     `json:"relays"`
	Components int     `json:"components"`
	Interval   string  `json:"interval"`
	Duration   string  `json:"duration"`
	Speed      float64 `json:"speed"`
	Mix        string  `json:"mix"`
	Reporting  string  `json:"reporting"`
	Contacts   bool    `json:"contacts"`
}

// Machine describes where a Result was measured.
type Machine struct {
	Uname     string `json:"uname"`
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	Memory    uint64 `json:"memoryBytes"`
	GoVersion string `json:"goVersion"`
	Commit    string `json:"commit,omitempty"`
	Bosun     string `json:"bosun,omitempty"`
}

func describeMachine(bosun string) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if out, err := exec.Command("uname", "-srmo").Output(); err == nil {
		m.Uname = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb uint64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.Memory = kb << 10
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(bosun, "version").Output(); err == nil {
		m.Bosun = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return m
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints the result for people, with the design's figure beside each where it
// has one (DESIGN.md §5).
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	c := r.Config
	fmt.Fprintf(tw, "fleet\t%d nodes, %d relays, %d components, every %s at speed %g (%s of fleet time), %s reporting, contacts %v\n",
		c.Nodes, c.Relays, c.Components, c.Interval, c.Speed, c.Duration, c.Reporting, c.Contacts)
	fmt.Fprintf(tw, "machine\t%s, %s, %d cores, %.1f GiB, %s, commit %s\n", r.Machine.Uname, r.Machine.CPU, r.Machine.Cores, float64(r.Machine.Memory)/(1<<30), r.Machine.GoVersion, r.Machine.Commit)
	fmt.Fprintln(tw, "FIGURE\tMEASURED\tDESIGN")
	row := func(name, measured, design string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", name, measured, design) }
	row("enrolment (stub + full inventory)", fmt.Sprintf("%.0f nodes/s (%.1f s), inventory %.0f B", r.EnrolPerSecond, r.EnrolSeconds, r.InventoryBytes), "")
	row("acceptance via API (compile, sign, store)", fmt.Sprintf("%.0f nodes/s (%.1f s)", r.AcceptPerSecond, r.AcceptSeconds), "")
	row("first policy fetch", fmt.Sprintf("%.0f nodes/s (%.1f s), %.0f B each", r.FetchPerSecond, r.FetchSeconds, r.PolicyFullBytes), "")
	row("compile every policy (root / API call)", fmt.Sprintf("%.0f ms / %.0f ms", r.CompileFullMs, r.CompileFullWallMs), "≤ 10 s")
	row("compile one directive change (root / API call)", fmt.Sprintf("%.0f ms / %.0f ms, %d nodes reached", r.CompileChangeMs, r.CompileChangeWall, r.ChangeNodes), "≤ 1 s")
	row("reports during the run", fmt.Sprintf("%d reports, %d results in %.0f s (%.0f s of fleet time)", r.Reports, r.Results, r.RunWallSeconds, r.RunFleetSeconds), "")
	row("ingestion, offered / taken by the root", fmt.Sprintf("%.0f / %.0f results/s; deepest relay queue %d; drained in %.1f s", r.OfferedPerSecond, r.IngestedPerSecond, r.MaxRelayQueue, r.DrainSeconds), "")
	row("ingestion, burst (one run of every node at once)", fmt.Sprintf("%.0f results/s (%d reports in %.1f s)", r.BurstPerSecond, r.BurstReports, r.BurstSeconds), "≥ 200,000 results/s")
	row("run end → compliance at the root", fmt.Sprintf("p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d samples, %d lost)", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs, r.LatencySamples, r.LatencyLost), "")
	row("bytes per run: node → relay (report frame)", fmt.Sprintf("%.0f B", r.ReportBytes), bytesDesign(c))
	row("bytes per run: zone → relay, batched", fmt.Sprintf("%.0f B", r.ForwardBytesPerRun), "")
	row("bytes per run: relay → root, reports (all uplink)", fmt.Sprintf("%.0f B (%.0f B)", r.UplinkReportBytes, r.UplinkBytesPerRun), "")
	row("policy check each run (status exchange)", fmt.Sprintf("%.0f B", r.ContactBytes), "unchanged policy check ≤ 200 B")
	row("policy delta after the change", fmt.Sprintf("%.0f B (%d nodes)", r.PolicyDeltaBytes, r.PolicyDeltas), "")
	row("root memory (end of run, of it heap / peak)", fmt.Sprintf("%s, %s / %s", mib(r.RootRSS), mib(r.RootAnonRSS), mib(r.RootPeakRSS)), "")
	row("root CPU during the run", fmt.Sprintf("%.2f cores", r.RootCPU), "2 cores")
	row("relay memory, largest (end / peak)", fmt.Sprintf("%s / %s", mib(r.RelayRSS), mib(r.RelayPeakRSS)), "")
	row("relays CPU during the run, together", fmt.Sprintf("%.2f cores", r.RelaysCPU), "")
	row("simulator CPU / memory", fmt.Sprintf("%.2f cores / %s", r.SimCPU, mib(r.SimRSS)), "")
	row("root Badger disk", fmt.Sprintf("%s (%s empty), %.1f kB per node", mib(uint64(r.RootDiskBytes)), mib(uint64(r.RootDiskEmpty)), r.DiskPerNode/1000), "")
	row("relays Badger disk, together", mib(uint64(r.RelayDiskBytes)), "")
	row("fleet compliance summary (API)", fmt.Sprintf("%.1f ms median, %.1f ms max", r.SummaryMs, r.SummaryMaxMs), "≤ 100 ms")
	row("filtered node list (API)", fmt.Sprintf("%.1f ms for %d nodes", r.NodeListMs, r.NodeListCount), "")
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, p := range r.Profiles {
		fmt.Fprintf(w, "profile: %s\n", p)
	}
	return nil
}

func bytesDesign(c RunConfig) string {
	if c.Reporting == "changes-only" {
		return "≤ 200 B all compliant, changes-only"
	}
	return "≤ 1 KB for 100 components, full"
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
