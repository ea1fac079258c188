package root

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/root/api"
)

// The drop directory: zones that carry inventories by hand (a USB stick off a ship, a
// nightly rsync from a site without a link) put them under <data>/inventories, as Rudder's
// inventory watcher takes them:
//
//	incoming/                 inventories of new nodes
//	accepted-nodes-updates/   inventories of known nodes (processed the same way)
//	received/                 what was taken
//	failed/                   what was refused, each with NAME.reason saying why
//
// Only .ocs, .xml, .gz and .sign files are considered; anything else is left alone. A .gz
// is extracted beside itself and removed. An inventory X and its signature X.sign are
// processed together once both are there; an inventory waits DropPairWait for its
// signature, and, unsigned, is processed once older than DropLoneAge (and refused where
// signatures are required). A signature without its inventory for DropPairWait is logged
// once and left in place. A file is considered only once its size and time held still
// across two scans, so that one being written is never read half-way.
const (
	dropDir      = "inventories"
	DropPairWait = 10 * time.Second
	DropLoneAge  = 2 * time.Minute
	// dropMaxPerScan bounds the files one scan looks at, so that a directory flooded with
	// files still lets the watcher answer stop and restart.
	dropMaxPerScan = 1000
)

// Subdirectories of the drop directory.
var (
	dropIncoming = []string{"incoming", "accepted-nodes-updates"}
	dropReceived = "received"
	dropFailed   = "failed"
)

// watcher polls the drop directory.
type watcher struct {
	base     string
	interval time.Duration
	pairWait time.Duration
	loneAge  time.Duration
	now      func() time.Time
	log      *slog.Logger
	// ingest takes an inventory and its signature (nil if none).
	ingest func(raw, sig []byte, from string) error

	wake chan struct{}
	// scanMu serialises scans: the loop's and a test's.
	scanMu sync.Mutex

	// mu guards what follows, and pairWait and loneAge, which tests shorten.
	mu       sync.Mutex
	running  bool
	seen     map[string]fileState
	logged   map[string]bool // lone signatures already reported
	lastScan time.Time
	received int
	failed   int
}

// fileState is a file as a scan saw it.
type fileState struct {
	size      int64
	mod       time.Time
	firstSeen time.Time
	settled   bool
}

func newWatcher(dataDir string, interval time.Duration, now func() time.Time, log *slog.Logger, ingest func(raw, sig []byte, from string) error) (*watcher, error) {
	w := &watcher{
		base: filepath.Join(dataDir, dropDir), interval: interval, pairWait: DropPairWait, loneAge: DropLoneAge,
		now: now, log: log.With("component", "inventory-watcher"), ingest: ingest,
		wake: make(chan struct{}, 1), running: interval >= 0,
		seen: make(map[string]fileState), logged: make(map[string]bool),
	}
	if w.interval <= 0 {
		w.interval = time.Second
	}
	for _, d := range append(append([]string{}, dropIncoming...), dropReceived, dropFailed) {
		if err := os.MkdirAll(filepath.Join(w.base, d), 0o700); err != nil {
			return nil, fmt.Errorf("inventory drop directory: %w", err)
		}
	}
	return w, nil
}

// run scans every interval while the watcher is started, until ctx ends.
func (w *watcher) run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
		w.mu.Lock()
		running := w.running
		w.mu.Unlock()
		if running {
			w.scan(ctx)
		}
	}
}

// control starts, stops or restarts the watcher; restart forgets what it was waiting for,
// so every file is looked at afresh.
func (w *watcher) control(action string) (api.Watcher, error) {
	w.mu.Lock()
	switch action {
	case "start":
		w.running = true
	case "stop":
		w.running = false
	case "restart":
		w.running = true
		w.seen = make(map[string]fileState)
		w.logged = make(map[string]bool)
	default:
		w.mu.Unlock()
		return api.Watcher{}, fmt.Errorf("watcher action %q: want start, stop or restart", action)
	}
	w.mu.Unlock()
	w.log.Info("inventory watcher "+action+"ed", "dir", w.base)
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return w.state(), nil
}

func (w *watcher) state() api.Watcher {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := api.Watcher{SchemaVersion: api.SchemaVersion, Running: w.running, LastScan: w.lastScan, Received: w.received, Failed: w.failed}
	for _, d := range dropIncoming {
		st.Directories = append(st.Directories, filepath.Join(w.base, d))
	}
	st.Waiting = len(w.seen)
	return st
}

func isInventoryName(n string) bool {
	return strings.HasSuffix(n, ".ocs") || strings.HasSuffix(n, ".xml")
}

// considered reports whether the watcher looks at a file of that name at all.
func considered(n string) bool {
	n = strings.ToLower(n)
	return !strings.HasPrefix(n, ".") && (isInventoryName(n) || strings.HasSuffix(n, ".gz") || strings.HasSuffix(n, ".sign"))
}

// scan looks at every considered file once and processes what is ready.
func (w *watcher) scan(ctx context.Context) {
	w.scanMu.Lock()
	defer w.scanMu.Unlock()
	now := w.now()
	w.mu.Lock()
	pairWait, loneAge := w.pairWait, w.loneAge
	w.mu.Unlock()
	present := make(map[string]bool)
	budget := dropMaxPerScan
	for _, d := range dropIncoming {
		dir := filepath.Join(w.base, d)
		entries, err := os.ReadDir(dir)
		if err != nil {
			w.log.Warn("cannot read the drop directory", "dir", dir, "err", err)
			continue
		}
		// Archives first, so that what they hold is seen in this same scan.
		sort.SliceStable(entries, func(i, j int) bool {
			return strings.HasSuffix(entries[i].Name(), ".gz") && !strings.HasSuffix(entries[j].Name(), ".gz")
		})
		names := make(map[string]bool, len(entries))
		for _, e := range entries {
			names[e.Name()] = true
		}
		for _, e := range entries {
			if ctx.Err() != nil || budget == 0 {
				break
			}
			name := e.Name()
			if !e.Type().IsRegular() || !considered(name) || !names[name] {
				continue
			}
			budget--
			path := filepath.Join(dir, name)
			present[path] = true
			st, ok := w.observe(path, now)
			if !ok || !st.settled {
				continue
			}
			lower := strings.ToLower(name)
			switch {
			case strings.HasSuffix(lower, ".gz"):
				if out, err := w.extract(path); err != nil {
					w.fail(path, nil, err)
				} else {
					names[filepath.Base(out)] = true
					present[out] = true
					w.observe(out, now)
				}
				delete(names, name)
			case strings.HasSuffix(lower, ".sign"):
				inv := strings.TrimSuffix(name, name[len(name)-len(".sign"):])
				if names[inv] {
					continue // processed with its inventory
				}
				if now.Sub(st.firstSeen) >= pairWait && !w.loggedOnce(path) {
					w.log.Warn("signature without its inventory; left in place", "file", path, "waited", pairWait)
				}
			default:
				sigName := name + ".sign"
				if names[sigName] {
					sigPath := filepath.Join(dir, sigName)
					present[sigPath] = true
					if sst, ok := w.observe(sigPath, now); !ok || !sst.settled {
						continue
					}
					w.process(path, sigPath)
					delete(names, sigName)
				} else if now.Sub(st.firstSeen) >= pairWait && now.Sub(st.mod) >= loneAge {
					w.process(path, "")
				} else {
					continue
				}
				delete(names, name)
			}
		}
	}
	w.mu.Lock()
	for p := range w.seen {
		if !present[p] {
			delete(w.seen, p)
			delete(w.logged, p)
		}
	}
	w.lastScan = now
	w.mu.Unlock()
}

// observe records a file's size and time; it is settled once they held across two scans.
func (w *watcher) observe(path string, now time.Time) (fileState, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, ok := w.seen[path]
	st := fileState{size: fi.Size(), mod: fi.ModTime(), firstSeen: now}
	if ok {
		st.firstSeen = prev.firstSeen
		st.settled = prev.size == st.size && prev.mod.Equal(st.mod)
	}
	w.seen[path] = st
	return st, true
}

func (w *watcher) loggedOnce(path string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	done := w.logged[path]
	w.logged[path] = true
	return done
}

// extract gunzips an archive beside itself, keeping its time, and removes it.
func (w *watcher) extract(path string) (string, error) {
	out := strings.TrimSuffix(path, path[len(path)-len(".gz"):])
	if !considered(filepath.Base(out)) || strings.HasSuffix(strings.ToLower(out), ".gz") {
		return "", fmt.Errorf("archive %s: the name without .gz must end in .ocs, .xml or .sign", filepath.Base(path))
	}
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(in)
	if err != nil {
		return "", fmt.Errorf("archive %s: %w", filepath.Base(path), err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(out)+".part")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(zr, maxImportBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxImportBytes {
		err = fmt.Errorf("over %d bytes once decompressed", maxImportBytes)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("archive %s: %w", filepath.Base(path), err)
	}
	if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return "", err
	}
	w.log.Info("archive extracted", "file", path, "to", out)
	return out, os.Remove(path)
}

// process hands an inventory (and its signature, if sigPath is not empty) to ingestion
// and moves the files where they belong.
func (w *watcher) process(path, sigPath string) {
	raw, err := readBounded(path)
	if err != nil {
		w.fail(path, sigPaths(sigPath), err)
		return
	}
	var sig []byte
	if sigPath != "" {
		if sig, err = readBounded(sigPath); err != nil {
			w.fail(path, sigPaths(sigPath), err)
			return
		}
	}
	err = w.ingest(raw, sig, "drop "+path)
	switch {
	case err == nil:
		w.move(path, sigPaths(sigPath), dropReceived)
		w.mu.Lock()
		w.received++
		w.mu.Unlock()
		w.log.Info("dropped inventory received", "file", path, "signed", sig != nil)
	case errors.Is(err, ErrQueueSaturated):
		// Stays in place; the next scan tries again.
	case errors.Is(err, ErrInventoryRefused):
		w.fail(path, sigPaths(sigPath), err)
	default:
		w.log.Error("dropped inventory not processed; will retry", "file", path, "err", err)
	}
}

func sigPaths(p string) []string {
	if p == "" {
		return nil
	}
	return []string{p}
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxImportBytes {
		return nil, fmt.Errorf("%s: over %d bytes", filepath.Base(path), maxImportBytes)
	}
	return b, nil
}

// fail moves files to failed/ with NAME.reason beside the first, and logs why.
func (w *watcher) fail(path string, others []string, reason error) {
	w.log.Warn("dropped inventory refused; moved to "+dropFailed, "file", path, "reason", reason)
	dst := w.move(path, others, dropFailed)
	if dst != "" {
		msg := fmt.Sprintf("%s\nfile: %s\nat: %s\n", reason, path, w.now().UTC().Format(time.RFC3339))
		if err := os.WriteFile(dst+".reason", []byte(msg), 0o600); err != nil {
			w.log.Error("cannot write the reason file", "file", dst+".reason", "err", err)
		}
	}
	w.mu.Lock()
	w.failed++
	w.mu.Unlock()
}

// move renames files into a subdirectory of the drop directory and returns the first's
// new path.
func (w *watcher) move(path string, others []string, to string) string {
	var first string
	for i, p := range append([]string{path}, others...) {
		dst := filepath.Join(w.base, to, filepath.Base(p))
		if err := os.Rename(p, dst); err != nil {
			w.log.Error("cannot move a dropped file", "file", p, "to", dst, "err", err)
			continue
		}
		if i == 0 {
			first = dst
		}
		w.mu.Lock()
		delete(w.seen, p)
		w.mu.Unlock()
	}
	return first
}
