package fleet

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Config configures a simulated fleet run. Zero fields take the defaults named beside them.
type Config struct {
	// Bosun is the bosun binary that runs the root and the relays. Required.
	Bosun string
	// WorkDir holds the data directories and logs of the processes; default a new
	// temporary directory, removed at the end unless Keep.
	WorkDir string
	Keep    bool

	Nodes      int           // simulated agents; default 1,000
	Relays     int           // relay processes, one simulated zone each; default 4
	Components int           // components of each node's policy; default 50
	Interval   time.Duration // the nodes' run interval; default 5 min
	Duration   time.Duration // fleet time the run phase lasts; default 10 min
	// Speed compresses time: nodes run every Interval/Speed of wall time. Default 1.
	Speed float64
	// Mix is how nodes behave in every run; default 90 % compliant, 6 % drift, 2 % errors,
	// 2 % silent.
	Mix Mix
	// ChangesOnly makes the nodes report in changes-only mode instead of full compliance.
	ChangesOnly bool
	// NoContacts turns off the status request each node sends every run, as an agent does:
	// the root then sees reports alone.
	NoContacts bool

	// Profile, if set, is a directory where CPU and heap profiles of the root and of the
	// first relay are written, taken in the middle of the run phase.
	Profile string
	// Seed makes node keys and inventories reproducible; default 1.
	Seed uint64

	// Progress receives one line every ProgressEvery while the run goes; default discard.
	Progress      io.Writer
	ProgressEvery time.Duration // default 10 s
	// Bar, if set, makes a progress bar for a phase whose total is known (the nodes pushed
	// to the relays, the nodes accepted); the CLI's cli.NewProgress fits. Default: none.
	Bar func(label string, total int64) Bar
}

// Bar is a progress bar: safe for concurrent Add; Done ends it.
type Bar interface {
	Add(n int64)
	Done()
}

type noBar struct{}

func (noBar) Add(int64) {}
func (noBar) Done()     {}

// Mix is the share of nodes (percent) that behave each way; it sums to 100.
type Mix struct {
	Compliant float64 // every component as it should be
	Drift     float64 // one component repaired in every run (enforce drift)
	Error     float64 // one component in error in every run
	Silent    float64 // never reports after enrolling
}

// DefaultMix is most nodes compliant, some drift, some errors, some silent.
var DefaultMix = Mix{Compliant: 90, Drift: 6, Error: 2, Silent: 2}

// ParseMix reads "compliant=90,drift=6,error=2,silent=2"; missing kinds are 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f < 0 {
			return Mix{}, fmt.Errorf("mix %q: want kind=percent, e.g. compliant=90,drift=6,error=2,silent=2", part)
		}
		switch k {
		case "compliant":
			m.Compliant = f
		case "drift":
			m.Drift = f
		case "error":
			m.Error = f
		case "silent":
			m.Silent = f
		default:
			return Mix{}, fmt.Errorf("mix: unknown kind %q (compliant, drift, error, silent)", k)
		}
	}
	return m, m.check()
}

func (m Mix) check() error {
	if sum := m.Compliant + m.Drift + m.Error + m.Silent; sum < 99.999 || sum > 100.001 {
		return fmt.Errorf("mix %v sums to %g %%, want 100", m, sum)
	}
	return nil
}

func (m Mix) String() string {
	return fmt.Sprintf("compliant=%g,drift=%g,error=%g,silent=%g", m.Compliant, m.Drift, m.Error, m.Silent)
}

func (c *Config) setDefaults() {
	if c.Nodes == 0 {
		c.Nodes = 1000
	}
	if c.Relays == 0 {
		c.Relays = 4
	}
	if c.Components == 0 {
		c.Components = 50
	}
	if c.Interval == 0 {
		c.Interval = 5 * time.Minute
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Minute
	}
	if c.Speed == 0 {
		c.Speed = 1
	}
	if c.Mix == (Mix{}) {
		c.Mix = DefaultMix
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Bar == nil {
		c.Bar = func(string, int64) Bar { return noBar{} }
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 10 * time.Second
	}
}

func (c *Config) validate() error {
	switch {
	case c.Bosun == "":
		return errors.New("fleet: no bosun binary")
	case c.Nodes < 1:
		return fmt.Errorf("fleet: --nodes %d: want at least 1", c.Nodes)
	case c.Relays < 1 || c.Relays > 200:
		return fmt.Errorf("fleet: --relays %d: want 1 to 200", c.Relays)
	case c.Components < minComponents || c.Components > 1000:
		return fmt.Errorf("fleet: --components %d: want %d to 1000", c.Components, minComponents)
	case c.Interval < time.Second:
		return fmt.Errorf("fleet: --interval %v: want at least 1s", c.Interval)
	case c.Duration < 0:
		return fmt.Errorf("fleet: --duration %v is negative", c.Duration)
	case c.Speed <= 0 || c.Speed > 10000:
		return fmt.Errorf("fleet: --speed %g: want more than 0, at most 10000", c.Speed)
	}
	return c.Mix.check()
}

// wallInterval is the wall time between two runs of a node.
func (c *Config) wallInterval() time.Duration {
	return time.Duration(float64(c.Interval) / c.Speed)
}
