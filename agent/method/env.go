package method

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/agent/host"
	"github.com/bosun-io/bosun/cond"
)

// Env is what the calls of one run share: where the files are, the host backends, the
// variables and conditions earlier calls defined.
type Env struct {
	// RootPrefix is prepended to every path a method touches: tests only, empty in production.
	RootPrefix string
	// DataDir is the agent's own directory, the only place a call may write in audit
	// (schedule_simple keeps its last runs there).
	DataDir string
	// SharedDir holds the shared files of file_from_shared_folder, as the agent received them.
	SharedDir string
	// Host holds the OS backends.
	Host *host.Set
	// Vars and Conditions are shared by the calls of a run, in order; nil means empty.
	Vars       *Vars
	Conditions *Conditions
	// NodeID seeds schedule_simple's splay, so that nodes spread their jobs.
	NodeID string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTP is the client of http_request_check_status_headers; nil means a default client.
	HTTP   *http.Client
	Logger *slog.Logger
	// GOOS is the platform the calls run on; empty means runtime.GOOS. Tests set it to see
	// what another platform's agent reports.
	GOOS string

	once     sync.Once
	mu       sync.Mutex
	uidCache map[string]int
	gidCache map[string]int
}

func (env *Env) init() {
	env.once.Do(func() {
		if env.Vars == nil {
			env.Vars = NewVars()
		}
		if env.Conditions == nil {
			env.Conditions = NewConditions()
		}
		if env.Logger == nil {
			env.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
	})
}

func (env *Env) logger() *slog.Logger    { env.init(); return env.Logger }
func (env *Env) conditions() *Conditions { env.init(); return env.Conditions }
func (env *Env) vars() *Vars             { env.init(); return env.Vars }

func (env *Env) now() time.Time {
	if env.Now != nil {
		return env.Now()
	}
	return time.Now()
}

// path maps a node path to where it is under the root prefix.
func (env *Env) path(p string) string {
	if env.RootPrefix == "" {
		return p
	}
	return filepath.Join(env.RootPrefix, p)
}

// Expand replaces the variable references in s: ${prefix.name} and ${prefix.name[key]...}, the
// keys themselves possibly references. A reference without a dot (${HOME}) is not a variable of
// a technique and is left as it is for the shell, and so is ${match.N} of file_replace_lines.
// An unknown variable is an error that names it.
func (env *Env) Expand(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		end := closing(s, i+2)
		if end < 0 { // unbalanced: literal text
			b.WriteString(s[i:])
			return b.String(), nil
		}
		ref := s[i+2 : end]
		v, literal, err := env.resolve(ref)
		if err != nil {
			return "", err
		}
		if literal {
			b.WriteString(s[i : end+1])
		} else {
			b.WriteString(v)
		}
		s = s[end+1:]
	}
}

// closing returns the index of the brace that closes a reference opened before from.
func closing(s string, from int) int {
	depth := 1
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func (env *Env) resolve(ref string) (value string, literal bool, err error) {
	if strings.Contains(ref, "${") {
		if ref, err = env.Expand(ref); err != nil {
			return "", false, err
		}
	}
	name, rest, _ := strings.Cut(ref, "[")
	if !strings.Contains(name, ".") || strings.HasPrefix(name, "match.") {
		return "", true, nil
	}
	var keys []string
	if rest != "" {
		rest = "[" + rest
		for rest != "" {
			if rest[0] != '[' {
				return "", false, fmt.Errorf("variable reference ${%s}: bad key syntax", ref)
			}
			j := strings.IndexByte(rest, ']')
			if j < 0 {
				return "", false, fmt.Errorf("variable reference ${%s}: bad key syntax", ref)
			}
			keys = append(keys, rest[1:j])
			rest = rest[j+1:]
		}
	}
	v, ok := env.vars().Lookup(name, keys...)
	if !ok {
		return "", false, fmt.Errorf("unknown variable ${%s}", ref)
	}
	return stringify(v), false, nil
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Vars holds the variables of a run: strings and JSON data, by "prefix.name".
type Vars struct {
	mu sync.RWMutex
	m  map[string]any
}

// NewVars returns an empty store.
func NewVars() *Vars { return &Vars{m: map[string]any{}} }

// Set defines prefix.name; value is a string or decoded JSON (maps, slices, numbers, bools).
func (v *Vars) Set(prefix, name string, value any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[prefix+"."+name] = value
}

// Lookup returns the variable called name ("prefix.name"), indexed by keys into its data.
func (v *Vars) Lookup(name string, keys ...string) (any, bool) {
	v.mu.RLock()
	val, ok := v.m[name]
	v.mu.RUnlock()
	if !ok {
		return nil, false
	}
	for _, k := range keys {
		switch c := val.(type) {
		case map[string]any:
			if val, ok = c[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			val = c[i]
		default:
			return nil, false
		}
	}
	return val, true
}

// tree returns the variables as nested maps, prefix then name, for templates.
func (v *Vars) tree() map[string]any {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := map[string]any{}
	for k, val := range v.m {
		prefix, name, _ := strings.Cut(k, ".")
		p, ok := out[prefix].(map[string]any)
		if !ok {
			p = map[string]any{}
			out[prefix] = p
		}
		p[name] = val
	}
	return out
}

// Conditions is the set of conditions defined during a run.
type Conditions struct {
	mu sync.RWMutex
	m  map[string]struct{}
}

// NewConditions returns a set holding names.
func NewConditions(names ...string) *Conditions {
	c := &Conditions{m: make(map[string]struct{}, len(names))}
	c.Define(names...)
	return c
}

// Define adds names to the set.
func (c *Conditions) Define(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range names {
		c.m[n] = struct{}{}
	}
}

// Has reports whether name is defined.
func (c *Conditions) Has(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.m[name]
	return ok
}

// Names returns the defined conditions, sorted.
func (c *Conditions) Names() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.m))
	for n := range c.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// canonify names conditions as Rudder does; cond owns the rule.
func canonify(s string) string { return cond.Canonify(s) }
