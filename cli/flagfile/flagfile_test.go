package flagfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// options stand for a daemon's flags: one of each type the roles use.
type options struct {
	Data     string
	Server   string
	Interval time.Duration
	Strict   bool
	Bytes    int64
	Names    []string
	Level    string
	Prefix   string
}

// level is a string flag with its own check, like the daemons' --log-level.
type level struct{ p *string }

func (l level) String() string { return *l.p }
func (l level) Type() string   { return "string" }
func (l level) Set(s string) error {
	if s != "debug" && s != "info" {
		return errors.New("want debug or info")
	}
	*l.p = s
	return nil
}

func (o *options) flags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/agent", "data directory")
	fs.StringVar(&o.Server, "server", "", "host:port of the policy server")
	fs.DurationVar(&o.Interval, "interval", 5*time.Minute, "how often")
	fs.BoolVar(&o.Strict, "strict", false, "refuse what is not signed")
	fs.Int64Var(&o.Bytes, "queue-bytes", 8<<30, "disk budget")
	fs.StringSliceVar(&o.Names, "api-name", nil, "extra names")
	o.Level = "info"
	fs.Var(level{&o.Level}, "log-level", "debug or info")
	fs.StringVar(&o.Prefix, "root-prefix", "", "tests only")
	_ = fs.MarkHidden("root-prefix")
	fs.String("config", "", "the file itself")
	return fs
}

func keys() *pflag.FlagSet { return Keys(new(options).flags(), "config") }

// load parses file against fresh keys and applies it to a command line parsed from args.
func load(file string, args ...string) (*options, error) {
	f, err := Parse("agent.yaml", []byte(file), keys())
	if err != nil {
		return nil, err
	}
	o := new(options)
	fs := o.flags()
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return o, f.Apply(fs)
}

func TestLoad(t *testing.T) {
	defaults := func() options {
		o := options{Level: "info"}
		_ = o.flags() // flags set the defaults
		return o
	}
	with := func(change func(*options)) options {
		o := defaults()
		change(&o)
		return o
	}
	tests := []struct {
		name string
		file string
		args []string
		want options
	}{
		{"empty file", "", nil, defaults()},
		{"comments only", "# nothing\n#data: /x\n", nil, defaults()},
		{"null document", "~\n", nil, defaults()},
		{"string", "data: /srv/agent\nserver: relay1:6710\n", nil,
			with(func(o *options) { o.Data, o.Server = "/srv/agent", "relay1:6710" })},
		{"quoted string", `server: ":6710"`, nil, with(func(o *options) { o.Server = ":6710" })},
		{"key without value is empty", "data:\n", nil, with(func(o *options) { o.Data = "" })},
		{"duration", "interval: 1h30m\n", nil, with(func(o *options) { o.Interval = 90 * time.Minute })},
		{"bool", "strict: true\n", nil, with(func(o *options) { o.Strict = true })},
		{"integer", "queue-bytes: 1024\n", nil, with(func(o *options) { o.Bytes = 1024 })},
		{"list", "api-name:\n  - root.example.org\n  - 10.0.0.1\n", nil,
			with(func(o *options) { o.Names = []string{"root.example.org", "10.0.0.1"} })},
		{"flow list", "api-name: [a, b]\n", nil, with(func(o *options) { o.Names = []string{"a", "b"} })},
		{"empty list", "api-name: []\n", nil, with(func(o *options) { o.Names = []string{} })},
		{"own check passes", "log-level: debug\n", nil, with(func(o *options) { o.Level = "debug" })},
		{"alias", "data: &d /srv/a\nserver: *d\n", nil, with(func(o *options) { o.Data, o.Server = "/srv/a", "/srv/a" })},
		{"flag overrides file", "data: /from/file\nserver: s:1\n", []string{"--data", "/from/flag"},
			with(func(o *options) { o.Data, o.Server = "/from/flag", "s:1" })},
		{"flag overrides file list", "api-name: [a, b]\n", []string{"--api-name", "c"},
			with(func(o *options) { o.Names = []string{"c"} })},
		{"flag set to its default still wins", "interval: 1m\n", []string{"--interval", "5m"}, defaults()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := load(tt.file, tt.args...)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // the lines of the error, in order
	}{
		{"unknown key, near miss", "data: /x\n\nsevrer: relay1:6710\n",
			[]string{`agent.yaml:3: unknown key "sevrer" (did you mean "server"?)`}},
		{"underscore for dash", "queue_bytes: 10\n",
			[]string{`agent.yaml:1: unknown key "queue_bytes" (did you mean "queue-bytes"?)`}},
		{"unknown key, far from all", "upstream: root:6710\n", []string{`agent.yaml:1: unknown key "upstream"`}},
		{"hidden flag is no key", "root-prefix: /tmp\n", []string{`agent.yaml:1: unknown key "root-prefix"`}},
		{"the file cannot name a file", "config: /etc/other.yaml\n", []string{`agent.yaml:1: unknown key "config"`}},
		{"bad duration", "data: /x\ninterval: 5 minutes\n",
			[]string{`agent.yaml:2: key "interval": "5 minutes" is not a duration: 30s, 5m, 1h30m`}},
		{"bad integer", "queue-bytes: 8G\n", []string{`agent.yaml:1: key "queue-bytes": "8G" is not a whole number`}},
		{"bad bool", "strict: yes please\n", []string{`agent.yaml:1: key "strict": "yes please" is not true or false`}},
		{"own check fails", "log-level: verbose\n", []string{`agent.yaml:1: key "log-level": "verbose": want debug or info`}},
		{"list for a single value", "data: [a, b]\n", []string{`agent.yaml:1: key "data": takes one value, not a list`}},
		{"mapping for a value", "server:\n  host: a\n", []string{`agent.yaml:2: key "server": takes one value, found a mapping`}},
		{"mapping in a list", "api-name:\n  - a: b\n", []string{`agent.yaml:2: key "api-name": a list item must be a single value, found a mapping`}},
		{"twice", "data: /a\ndata: /b\n", []string{`agent.yaml:2: key "data" given twice (first on line 1)`}},
		{"not a mapping", "- data\n", []string{`agent.yaml:1: want key: value lines at the top level, found a list`}},
		{"syntax", "data: /a\n  server: b\n", []string{`agent.yaml:2: not YAML: mapping values are not allowed in this context`}},
		{"two documents", "data: /a\n---\nserver: b\n", []string{`agent.yaml:2: a second YAML document: a configuration file is one mapping of key: value`}},
		{"every problem at once", "sevrer: a\ninterval: x\nstrict: 2\n", []string{
			`agent.yaml:1: unknown key "sevrer" (did you mean "server"?)`,
			`agent.yaml:2: key "interval": "x" is not a duration: 30s, 5m, 1h30m`,
			`agent.yaml:3: key "strict": "2" is not true or false`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.file)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("got error %v, want an *Error", err)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if len(fe.Problems) != len(tt.want) {
				t.Errorf("got %d problems, want %d", len(fe.Problems), len(tt.want))
			}
		})
	}
}

func TestProblemNamesKey(t *testing.T) {
	_, err := Parse("relay.yaml", []byte("data: /x\nsevrer: a\n"), keys())
	var fe *Error
	if !errors.As(err, &fe) || len(fe.Problems) != 1 {
		t.Fatalf("got %v, want one problem", err)
	}
	if p := fe.Problems[0]; p.Line != 2 || p.Key != "sevrer" || p.Unknown {
		t.Errorf("got line %d key %q unknown %v, want line 2 key sevrer, a near miss", p.Line, p.Key, p.Unknown)
	}
	_, err = Parse("relay.yaml", []byte("upstream: root:6710\n"), keys())
	if !errors.As(err, &fe) || len(fe.Problems) != 1 || !fe.Problems[0].Unknown {
		t.Errorf("got %v, want one problem of a key far from every flag", err)
	}
}

func TestReadMissingFile(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "none.yaml"), keys())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want an error that is fs.ErrNotExist", err)
	}
}

// TestReadTooLarge: a file over MaxSize is refused, not read whole.
func TestReadTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, bytes.Repeat([]byte("# comment\n"), MaxSize/10+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Read(path, keys())
	var fe *Error
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "larger than 1024 KiB") {
		t.Errorf("got %v, want a file that is too large", err)
	}
}

// TestApplySkipsOtherVerbsKeys: a verb that shares its role's file takes the keys it has.
func TestApplySkipsOtherVerbsKeys(t *testing.T) {
	f, err := Parse("agent.yaml", []byte("data: /srv/a\nserver: relay1:6710\ninterval: 1m\n"), keys())
	if err != nil {
		t.Fatal(err)
	}
	var data string
	fs := pflag.NewFlagSet("agent info", pflag.ContinueOnError)
	fs.StringVar(&data, "data", "/var/lib/bosun/agent", "data directory")
	if err := f.Apply(fs); err != nil {
		t.Fatal(err)
	}
	if data != "/srv/a" {
		t.Errorf("got data %q, want /srv/a", data)
	}
}

// TestDefaultsRoundTrip: the commented defaults, uncommented, are a valid file that sets
// every key to its default, so no default is written in a form the parser refuses.
func TestDefaultsRoundTrip(t *testing.T) {
	var b strings.Builder
	if err := Defaults(&b, "test file\n\nsecond line", keys()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "# test file\n#\n# second line\n") {
		t.Errorf("header not first:\n%s", out)
	}
	if strings.Contains(out, "root-prefix") || strings.Contains(out, "#config:") {
		t.Errorf("hidden flag or the file's own flag written:\n%s", out)
	}
	var set []string
	for _, line := range strings.Split(out, "\n") {
		// Prose is "# text", a key "#key: value".
		if strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "# ") && strings.Contains(line, ":") {
			set = append(set, strings.TrimPrefix(line, "#"))
		}
	}
	f, err := Parse("defaults.yaml", []byte(strings.Join(set, "\n")), keys())
	if err != nil {
		t.Fatalf("uncommented defaults do not parse: %v\n%s", err, strings.Join(set, "\n"))
	}
	wantKeys := []string{"data", "server", "interval", "strict", "queue-bytes", "api-name", "log-level"}
	if got := f.Keys(); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("got keys %v, want %v", got, wantKeys)
	}
	o := new(options)
	fs := o.flags()
	if err := f.Apply(fs); err != nil {
		t.Fatal(err)
	}
	want := options{Level: "info"}
	_ = want.flags()
	want.Names = []string{}
	if !reflect.DeepEqual(*o, want) {
		t.Errorf("uncommented defaults set %+v, want %+v", *o, want)
	}
	for _, w := range []string{"#interval: 5m\n", `#server: ""` + "\n", "#queue-bytes: 8589934592\n", "#api-name: []\n", "# how often (a duration: 30s, 5m, 1h30m)\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("defaults lack %q:\n%s", w, out)
		}
	}
}

func TestReference(t *testing.T) {
	var b strings.Builder
	if err := Reference(&b, keys()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"| `interval` | duration | `5m` | how often |", "| `api-name` | list | `[]` | extra names |"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("reference lacks %q:\n%s", w, b.String())
		}
	}
}

func TestSuggest(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"sevrer", "server"}, {"Server", "server"}, {"dat", "data"}, {"intervall", "interval"},
		{"log_level", "log-level"}, {"zzz", ""}, {"upstream", ""},
	} {
		if got := suggest(tt.name, keys()); got != tt.want {
			t.Errorf("suggest(%q): got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func ExampleError() {
	_, err := Parse("agent.yaml", []byte("data: /srv/agent\nsevrer: relay1:6710\n"), keys())
	fmt.Println(err)
	// Output: agent.yaml:2: unknown key "sevrer" (did you mean "server"?)
}
