package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/common"
)

// CollectOptions tunes Collect. The zero value collects the running machine.
type CollectOptions struct {
	// RootPrefix is prepended to every file path read (/etc, /proc, /sys, /var). Tests point
	// it at a fake tree. When set, collectors that can only ask the running kernel (network
	// interfaces, filesystem usage, rpm) are skipped with a note.
	RootPrefix string
	// PropertiesDir holds the node's custom properties, one *.json file each. Empty: none.
	PropertiesDir string
	// NodeID and Agent are copied into the inventory: the agent knows them, the machine does
	// not.
	NodeID string
	Agent  Agent
	// Progress, if set, is called after each collector with its name and duration (for
	// `bosun agent inventory -i`). Collectors may run concurrently, so it must be safe for
	// concurrent use.
	Progress func(step string, d time.Duration)
	// Logger receives debug lines; nil discards them.
	Logger *slog.Logger
	// Now returns the collection time; nil means time.Now.
	Now func() time.Time
}

// collector carries one collection. Collectors write disjoint fields of inv; notes are
// shared and guarded.
type collector struct {
	opts CollectOptions
	inv  *Inventory
	mu   sync.Mutex
	// psctx carries gopsutil's root overrides when RootPrefix is set.
	psctx context.Context
}

type step struct {
	name string
	fn   func(ctx context.Context, c *collector)
}

// Collect gathers the inventory of the running machine (or of the tree under
// opts.RootPrefix). A field that cannot be collected stays empty and gets a Note; Collect
// fails only if ctx ends.
func Collect(ctx context.Context, opts CollectOptions) (*Inventory, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	c := &collector{opts: opts, inv: &Inventory{
		SchemaVersion: SchemaVersion,
		NodeID:        opts.NodeID,
		Source:        SourceAgent,
		Agent:         opts.Agent,
	}}
	c.psctx = ctx
	if opts.RootPrefix != "" {
		c.psctx = context.WithValue(ctx, common.EnvKey, common.EnvMap{
			common.HostProcEnvKey: filepath.Join(opts.RootPrefix, "proc"),
			common.HostSysEnvKey:  filepath.Join(opts.RootPrefix, "sys"),
			common.HostEtcEnvKey:  filepath.Join(opts.RootPrefix, "etc"),
			common.HostVarEnvKey:  filepath.Join(opts.RootPrefix, "var"),
			common.HostRunEnvKey:  filepath.Join(opts.RootPrefix, "run"),
			common.HostDevEnvKey:  filepath.Join(opts.RootPrefix, "dev"),
			common.HostRootEnvKey: opts.RootPrefix,
		})
	}

	// The update scan reads every apt list (tens of MB on Debian) and dominates the run, so
	// it runs beside the others; the rest are sub-millisecond reads of /proc and /etc, for
	// which goroutines would cost more than they save.
	slow := []step{{"software+updates", collectPackages}}
	fast := []step{
		{"os", collectOS},
		{"machine", collectMachine},
		{"cpu", collectCPU},
		{"memory", collectMemory},
		{"disks", collectDisks},
		{"filesystems", collectFilesystems},
		{"interfaces", collectInterfaces},
		{"routes", collectRoutes},
		{"uptime", collectUptime},
		{"timezone", collectTimezone},
		{"users", collectUsers},
		{"listening", collectListening},
		{"properties", collectProperties},
	}
	var wg sync.WaitGroup
	for _, s := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx, s)
		}()
	}
	for _, s := range fast {
		if ctx.Err() != nil {
			break
		}
		c.run(ctx, s)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collect inventory: %w", err)
	}
	c.inv.CollectedAt = now().UTC()
	sort.Slice(c.inv.Notes, func(i, j int) bool { return c.inv.Notes[i].Field < c.inv.Notes[j].Field })
	return c.inv, nil
}

func (c *collector) run(ctx context.Context, s step) {
	start := time.Now()
	c.protect(s.name, func() { s.fn(ctx, c) })
	d := time.Since(start)
	c.opts.Logger.Debug("inventory step", "step", s.name, "duration", d)
	if c.opts.Progress != nil {
		c.opts.Progress(s.name, d)
	}
}

// note records why field is empty.
func (c *collector) note(field string, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inv.Notes = append(c.inv.Notes, Note{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// path maps an absolute path of the machine to the path to read.
func (c *collector) path(p string) string {
	if c.opts.RootPrefix == "" {
		return p
	}
	return filepath.Join(c.opts.RootPrefix, p)
}

func (c *collector) read(p string) ([]byte, error) {
	return os.ReadFile(c.path(p))
}

// readLine returns the trimmed content of a one-line file, "" if unreadable.
func (c *collector) readLine(p string) string {
	b, err := c.read(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (c *collector) live() bool { return c.opts.RootPrefix == "" }

// maxPropertyFile caps one custom property file: properties travel in every full inventory.
const maxPropertyFile = 256 << 10

func collectProperties(_ context.Context, c *collector) {
	dir := c.opts.PropertiesDir
	if dir == "" {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errorsIsNotExist(err) {
			c.note("properties", "read %s: %v", dir, err)
		}
		return
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		key := strings.TrimSuffix(name, ".json")
		p := filepath.Join(dir, name)
		info, err := e.Info()
		if err != nil {
			c.note("properties."+key, "stat %s: %v", p, err)
			continue
		}
		if info.Size() > maxPropertyFile {
			c.note("properties."+key, "%s is %d bytes, over the %d-byte limit", p, info.Size(), maxPropertyFile)
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			c.note("properties."+key, "read %s: %v", p, err)
			continue
		}
		if !json.Valid(b) {
			c.note("properties."+key, "%s is not valid JSON", p)
			continue
		}
		if c.inv.Properties == nil {
			c.inv.Properties = make(map[string]json.RawMessage)
		}
		c.inv.Properties[key] = compactJSON(b)
	}
}

func compactJSON(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return json.RawMessage(b)
	}
	return json.RawMessage(buf.Bytes())
}

func errorsIsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
