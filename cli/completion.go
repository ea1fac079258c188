package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// commandTableUser is an Options that needs the binary's whole command table: completion
// and man pages describe every verb, the role verbs of cmd/bosun included, which cli's own
// Commands does not know. Main hands the table over before parsing flags.
type commandTableUser interface {
	useCommands(cmds []*Command)
}

// hidden verbs are left out of the overview, completion and man pages: they are for the
// completion scripts, not for people.
func hidden(c *Command) bool { return strings.HasPrefix(c.Name, "__") }

// flagValues are the flags that take one of a few words, by flag name; the same name means
// the same thing on every verb that has it.
var flagValues = map[string][]string{
	"color":               {ColorAuto, ColorAlways, ColorNever},
	"status":              {"pending", "accepted", "refused", "deleted"},
	"role":                {"agent", "relay", "root", "inventory"},
	"state":               complianceStates,
	"log-level":           {"debug", "info", "warn", "error"},
	"log-format":          {"text", "json"},
	"gossip-profile":      {"lan", "wan", "local"},
	"core-gossip-profile": {"lan", "wan", "local"},
	"policy-mode":         {"audit", "enforce"},
	"reporting-mode":      {"full", "changes-only", "disabled"},
}

// flagWordsAnnotation marks a flag whose words differ from flagValues' for its name on one
// verb (--role of a token, not of a node); SetFlagWords sets it.
const flagWordsAnnotation = "bosun-words"

// SetFlagWords says which words the flag called name of fs takes, for completion.
func SetFlagWords(fs *pflag.FlagSet, name string, words ...string) {
	_ = fs.SetAnnotation(name, flagWordsAnnotation, words)
}

// pathFlags are the flags whose value is a file (":file") or a directory (":dir").
var pathFlags = map[string]string{
	"file": ":file", "to": ":file", "root-cert": ":file", "config": ":file", "cli-config": ":file",
	"cve-feed": ":file", "data": ":dir", "dir": ":dir", "log-dir": ":dir", "hooks-dir": ":dir",
	"shared-files": ":dir",
}

// idKinds are what __complete ids can list, by the noun of a verb whose argument is an ID.
var idKinds = map[string]string{
	"nodes": "node", "inventory": "node", "rules": "rule", "directives": "directive", "groups": "group",
	"compliance rule": "rule", "compliance node": "node", "compliance directive": "directive",
	"compliance group": "group", "compliance history": "rule node", "policy": "node",
	"wait node-accepted": "node", "wait config-applied": "node", "wait rule-compliant": "rule",
}

// verbSpec is what completion knows of one verb.
type verbSpec struct {
	name  string
	short string
	flags []*pflag.Flag
	args  string // ":file", ":dir", "ids KIND..." or ""
}

// globalFlagSet holds the flags Main gives every verb, and accepts before the verb.
func globalFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("bosun", pflag.ContinueOnError)
	fs.BoolP("help", "h", false, "print the help")
	fs.String("color", ColorAuto, colorFlagUsage)
	return fs
}

func verbSpecs(cmds []*Command) []verbSpec {
	var out []verbSpec
	for _, c := range cmds {
		if hidden(c) {
			continue
		}
		fs := pflag.NewFlagSet(c.Name, pflag.ContinueOnError)
		c.New().AddFlags(fs)
		globalFlagSet().VisitAll(func(f *pflag.Flag) {
			if fs.Lookup(f.Name) == nil {
				fs.AddFlag(f)
			}
		})
		s := verbSpec{name: c.Name, short: c.Short, args: argCompletion(c)}
		fs.VisitAll(func(f *pflag.Flag) { s.flags = append(s.flags, f) })
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// argCompletion says how a verb's arguments complete, from its usage line.
func argCompletion(c *Command) string {
	a := c.Args
	kind := idKinds[c.Name]
	if kind == "" {
		kind = idKinds[strings.Fields(c.Name)[0]]
	}
	switch {
	case a == "":
		return ""
	case isWordChoice(a):
		return "words " + strings.ReplaceAll(a, "|", " ")
	case strings.Contains(a, "FILE"):
		return ":file"
	case strings.HasPrefix(a, "DIR"):
		return ":dir"
	case strings.HasPrefix(a, "RULE|NODE"):
		return "ids rule node"
	case strings.HasPrefix(a, "NODE"):
		return "ids node"
	case strings.HasPrefix(a, "RULE"):
		return "ids rule"
	case strings.HasPrefix(a, "GROUP"):
		return "ids group"
	case strings.HasPrefix(a, "ID") && kind != "":
		return "ids " + kind
	}
	return ""
}

// isWordChoice says whether a usage line lists the words an argument may be: bash|zsh|fish.
func isWordChoice(args string) bool {
	words := strings.Split(args, "|")
	for _, w := range words {
		if w == "" || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz-") != "" {
			return false
		}
	}
	return len(words) > 1
}

// takesValue says whether a flag is followed by a value (pflag's booleans are not).
func takesValue(f *pflag.Flag) bool { return f.NoOptDefVal == "" }

// flagCompletion is what follows a flag: its words, ":file", ":dir", or nothing to offer.
func flagCompletion(f *pflag.Flag) []string {
	if v, ok := f.Annotations[flagWordsAnnotation]; ok {
		return v
	}
	if v, ok := flagValues[f.Name]; ok {
		return v
	}
	if p, ok := pathFlags[f.Name]; ok {
		return []string{p}
	}
	return nil
}

// completionTree is the verbs as words: which words may follow a prefix of words.
type completionTree struct {
	specs    []verbSpec
	prefixes []string            // every prefix of every verb name, "" excluded
	next     map[string][]string // prefix ("" for none) -> following words
}

func newCompletionTree(cmds []*Command) *completionTree {
	t := &completionTree{specs: verbSpecs(cmds), next: map[string][]string{}}
	seen := map[string]bool{}
	t.next[""] = append(t.next[""], "help")
	for _, s := range t.specs {
		words := strings.Fields(s.name)
		for i := range words {
			prefix := strings.Join(words[:i], " ")
			p := strings.Join(words[:i+1], " ")
			if !seen[p] {
				seen[p] = true
				t.prefixes = append(t.prefixes, p)
				t.next[prefix] = append(t.next[prefix], words[i])
			}
		}
	}
	sort.Strings(t.prefixes)
	for k := range t.next {
		sort.Strings(t.next[k])
	}
	return t
}

func (t *completionTree) spec(name string) *verbSpec {
	for i := range t.specs {
		if t.specs[i].name == name {
			return &t.specs[i]
		}
	}
	return nil
}

// flagNames are a verb's flags as typed: --long, and -x for a shorthand.
func flagNames(flags []*pflag.Flag) []string {
	var out []string
	for _, f := range flags {
		out = append(out, "--"+f.Name)
		if f.Shorthand != "" {
			out = append(out, "-"+f.Shorthand)
		}
	}
	sort.Strings(out)
	return out
}

var completionCommand = &Command{
	Name: "completion", Args: "bash|zsh|fish",
	Short: "print the shell completion script for bash, zsh or fish",
	Long: `Prints a script that completes bosun's verbs, their flags, the values of flags that take one of
a few words (--status, --state, --color, ...), files and directories for path flags and
arguments, and node, rule, directive and group ids, which it asks the root for through the
CLI configuration (bosun __complete ids KIND). Without a configured or reachable root, ids
simply do not complete; nothing is printed on the terminal.`,
	Examples: `# bash, for the current shell, then for every new one
source <(bosun completion bash)
bosun completion bash | sudo tee /etc/bash_completion.d/bosun >/dev/null
# zsh (compinit must be loaded): a file named _bosun in a directory of $fpath
bosun completion zsh > "${fpath[1]}/_bosun"
# fish
bosun completion fish > ~/.config/fish/completions/bosun.fish`,
	// The script is printed without contacting a root, so no 3 or 4.
	ExitStatus: `0  the script was printed
1  it could not be written
2  the command line is wrong (no shell, or one bosun does not know)`,
	New: func() Options { return &completionOptions{} },
}

type completionOptions struct{ cmds []*Command }

func (o *completionOptions) useCommands(cmds []*Command) { o.cmds = cmds }
func (o *completionOptions) AddFlags(*pflag.FlagSet)     {}

func (o *completionOptions) Run(_ context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want one shell: bash, zsh or fish")
	}
	t := newCompletionTree(o.cmds)
	switch args[0] {
	case "bash":
		return writeBashCompletion(env.Stdout, t)
	case "zsh":
		return writeZshCompletion(env.Stdout, t)
	case "fish":
		return writeFishCompletion(env.Stdout, t)
	}
	return Usagef("shell %q: want bash, zsh or fish", args[0])
}

// completeTimeout bounds how long a TAB waits for the root.
const completeTimeout = 2 * time.Second

var completeCommand = &Command{
	Name: "__complete", Args: "ids KIND...",
	Short: "list ids for the completion scripts (node, rule, directive, group)",
	Long: `Prints the ids of the objects of the kinds named, one a line, as the root lists them. It is
silent and exits 0 whatever goes wrong (no root configured, root down, no right to list):
a completion that prints errors on the terminal is worse than none.`,
	Examples:   `bosun __complete ids node`,
	ExitStatus: `0  always`,
	New:        func() Options { return &completeOptions{} },
}

type completeOptions struct{ RootOptions }

func (o *completeOptions) AddFlags(fs *pflag.FlagSet) { o.RootOptions.AddFlags(fs) }

func (o *completeOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) < 2 || args[0] != "ids" {
		return nil
	}
	o.Timeout = completeTimeout
	c, err := o.Client(env)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	var ids []string
	for _, kind := range args[1:] {
		switch kind {
		case "node":
			nodes, err := c.Nodes(ctx, "")
			if err != nil {
				return nil
			}
			for _, n := range nodes {
				if n.Status != "deleted" {
					ids = append(ids, n.ID)
				}
			}
		case "rule", "directive", "group":
			l, err := c.Objects(ctx, kind+"s")
			if err != nil {
				return nil
			}
			for _, raw := range l.Objects {
				if id := objectID(raw); id != "" {
					ids = append(ids, id)
				}
			}
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		fmt.Fprintln(env.Stdout, id)
	}
	return nil
}

// shQuote quotes s for POSIX shells.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func shWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shQuote(w)
	}
	return strings.Join(q, " ")
}

// writeShCore writes the functions bash and zsh share: the command table as case
// statements, and __bosun_candidates, which prints what may replace the word being
// completed (":file" and ":dir" ask the shell for paths).
func writeShCore(w io.Writer, t *completionTree) {
	fmt.Fprint(w, "__bosun_is_prefix() {\n\tcase \"$1\" in\n")
	for _, p := range t.prefixes {
		fmt.Fprintf(w, "\t%s) return 0 ;;\n", shQuote(p))
	}
	fmt.Fprint(w, "\tesac\n\treturn 1\n}\n\n__bosun_next() {\n\tcase \"$1\" in\n")
	for _, p := range append([]string{""}, t.prefixes...) {
		if next := t.next[p]; len(next) > 0 {
			fmt.Fprintf(w, "\t%s) printf '%%s\\n' %s ;;\n", shQuote(p), shWords(next))
		}
	}
	fmt.Fprint(w, "\tesac\n}\n\n__bosun_flags() {\n\tcase \"$1\" in\n")
	global := flagNames(collectFlags(globalFlagSet()))
	fmt.Fprintf(w, "\t'') printf '%%s\\n' %s ;;\n", shWords(global))
	for _, s := range t.specs {
		fmt.Fprintf(w, "\t%s) printf '%%s\\n' %s ;;\n", shQuote(s.name), shWords(flagNames(s.flags)))
	}
	fmt.Fprint(w, "\tesac\n}\n\n# __bosun_flag_values VERB FLAG prints what may follow the flag; it fails for a flag\n# that takes no value.\n__bosun_flag_values() {\n\tcase \"$1|$2\" in\n")
	emit := func(verb string, flags []*pflag.Flag) {
		for _, f := range flags {
			if !takesValue(f) {
				continue
			}
			names := []string{verb + "|--" + f.Name}
			if f.Name == "color" {
				// The hidden alias takes a value too: the word after it is no verb.
				names = append(names, verb+"|--colour")
			}
			if f.Shorthand != "" {
				names = append(names, verb+"|-"+f.Shorthand)
			}
			quoted := make([]string, len(names))
			for i, n := range names {
				quoted[i] = shQuote(n)
			}
			vals := flagCompletion(f)
			if len(vals) == 0 {
				fmt.Fprintf(w, "\t%s) ;;\n", strings.Join(quoted, "|"))
				continue
			}
			fmt.Fprintf(w, "\t%s) printf '%%s\\n' %s ;;\n", strings.Join(quoted, "|"), shWords(vals))
		}
	}
	emit("", collectFlags(globalFlagSet()))
	for _, s := range t.specs {
		emit(s.name, s.flags)
	}
	fmt.Fprint(w, "\t*) return 1 ;;\n\tesac\n}\n\n# __bosun_args VERB PROGRAM prints what the verb's arguments may be.\n__bosun_args() {\n\tcase \"$1\" in\n")
	for _, s := range t.specs {
		switch {
		case s.args == "":
		case strings.HasPrefix(s.args, ":"):
			fmt.Fprintf(w, "\t%s) printf '%%s\\n' %s ;;\n", shQuote(s.name), shQuote(s.args))
		case strings.HasPrefix(s.args, "words "):
			fmt.Fprintf(w, "\t%s) printf '%%s\\n' %s ;;\n", shQuote(s.name), shWords(strings.Fields(strings.TrimPrefix(s.args, "words "))))
		default:
			fmt.Fprintf(w, "\t%s) \"$2\" __complete %s 2>/dev/null ;;\n", shQuote(s.name), s.args)
		}
	}
	io.WriteString(w, "\tesac\n}\n\n"+shCandidates)
}

func collectFlags(fs *pflag.FlagSet) []*pflag.Flag {
	var out []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) { out = append(out, f) })
	return out
}

// shCandidates walks the words before the one being completed: the verb is the longest run
// of words that names verbs, flags that take a value consume the next word (or the "="
// bash makes a word of, and what follows it).
const shCandidates = `# __bosun_candidates CWORD PROGRAM WORD... prints the candidates for word CWORD (1: the
# first word after the program).
__bosun_candidates() {
	local cw=$1 prog=$2 vp='' cur='' flag='' w i=0 fixed=0 skip=0
	shift 2
	for w in "$@"; do
		i=$((i + 1))
		if [ "$i" -eq "$cw" ]; then
			cur=$w
			break
		fi
		if [ "$skip" -eq 1 ]; then
			[ "$w" = "=" ] || skip=0
			continue
		fi
		case "$w" in
		-*=*) ;;
		-*)
			if __bosun_flag_values "$vp" "$w" >/dev/null; then
				skip=1
				flag=$w
			fi
			;;
		help)
			# bosun help VERB: the verb completes as after bosun.
			[ -z "$vp" ] || fixed=1
			;;
		*)
			if [ "$fixed" -eq 0 ] && __bosun_is_prefix "${vp:+$vp }$w"; then
				vp="${vp:+$vp }$w"
			else
				fixed=1
			fi
			;;
		esac
	done
	if [ "$skip" -eq 1 ]; then
		__bosun_flag_values "$vp" "$flag"
		return 0
	fi
	case "$cur" in
	-*=*)
		flag=${cur%%=*}
		__bosun_flag_values "$vp" "$flag" | while IFS= read -r w; do
			case "$w" in
			:*) printf '%s\n' "$w" ;;
			*) printf '%s\n' "$flag=$w" ;;
			esac
		done
		return 0
		;;
	-*)
		__bosun_flags "$vp"
		return 0
		;;
	esac
	if [ "$fixed" -eq 0 ]; then
		__bosun_next "$vp"
	fi
	__bosun_args "$vp" "$prog"
}
`

func writeBashCompletion(w io.Writer, t *completionTree) error {
	fmt.Fprint(w, "# bash completion for bosun; generated by bosun completion bash.\n\n")
	writeShCore(w, t)
	_, err := fmt.Fprint(w, `
_bosun() {
	local cur=${COMP_WORDS[COMP_CWORD]} line files=0 dirs=0
	local -a cands=()
	COMPREPLY=()
	while IFS= read -r line; do
		case "$line" in
		:file) files=1 ;;
		:dir) dirs=1 ;;
		'') ;;
		*) cands+=("$line") ;;
		esac
	done < <(__bosun_candidates "$COMP_CWORD" "${COMP_WORDS[@]}")
	[ "$cur" = "=" ] && cur=''
	if [ "${#cands[@]}" -gt 0 ]; then
		local IFS=$'\n'
		COMPREPLY=($(compgen -W "${cands[*]}" -- "$cur"))
	fi
	if [ "$files" -eq 1 ] || [ "$dirs" -eq 1 ]; then
		compopt -o filenames 2>/dev/null
		local IFS=$'\n'
		if [ "$files" -eq 1 ]; then
			COMPREPLY+=($(compgen -f -- "$cur"))
		else
			COMPREPLY+=($(compgen -d -- "$cur"))
		fi
	fi
	return 0
}

complete -F _bosun bosun
`)
	return err
}

func writeZshCompletion(w io.Writer, t *completionTree) error {
	fmt.Fprint(w, "#compdef bosun\n# zsh completion for bosun; generated by bosun completion zsh.\n\n")
	writeShCore(w, t)
	_, err := fmt.Fprint(w, `
_bosun() {
	local -a cands
	local line files=0 dirs=0
	for line in "${(@f)$(__bosun_candidates $((CURRENT - 1)) "${words[@]}")}"; do
		case "$line" in
		:file) files=1 ;;
		:dir) dirs=1 ;;
		'') ;;
		*) cands+=("$line") ;;
		esac
	done
	(( ${#cands} )) && compadd -- "${cands[@]}"
	(( files )) && _files
	(( dirs )) && _files -/
	return 0
}

if [ "${funcstack[1]}" = "_bosun" ]; then
	_bosun "$@"
elif (( $+functions[compdef] )); then
	compdef _bosun bosun
fi
`)
	return err
}

// fishQuote quotes s for fish's single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func writeFishCompletion(w io.Writer, t *completionTree) error {
	fmt.Fprint(w, `# fish completion for bosun; generated by bosun completion fish.

# __bosun_verb prints the verb named so far: the longest run of words that names verbs.
function __bosun_verb
    set -l words (commandline -opc)
    set -e words[1]
    set -l verb
    set -l skip 0
    for w in $words
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case '--color' '--colour'
                set skip 1
            case help
                # bosun help VERB: the verb completes as after bosun.
                test -z "$verb"; or break
            case '-*'
            case '*'
                set -l cand (string join ' ' $verb $w)
                if contains -- $cand $__bosun_prefixes
                    set verb $verb $w
                else
                    break
                end
        end
    end
    string join ' ' $verb
end

function __bosun_at
    set -l v (__bosun_verb)
    test "$v" = "$argv[1]"
end

function __bosun_ids
    set -l prog (commandline -opc)[1]
    $prog __complete ids $argv 2>/dev/null
end

`)
	fmt.Fprint(w, "set -g __bosun_prefixes")
	for _, p := range t.prefixes {
		fmt.Fprint(w, " ", fishQuote(p))
	}
	fmt.Fprint(w, "\n\ncomplete -c bosun -f\n")
	shorts := map[string]string{}
	for _, s := range t.specs {
		shorts[s.name] = s.short
	}
	for _, p := range append([]string{""}, t.prefixes...) {
		for _, word := range t.next[p] {
			full := strings.TrimSpace(p + " " + word)
			desc := shorts[full]
			if full == "help" {
				desc = "print the help of a verb, with examples"
			}
			if desc == "" {
				desc = "bosun " + full + " ..."
			}
			fmt.Fprintf(w, "complete -c bosun -n %s -a %s -d %s\n", fishQuote("__bosun_at "+fishQuote(p)), fishQuote(word), fishQuote(desc))
		}
	}
	flagLine := func(verb string, f *pflag.Flag) {
		cond := fishQuote("__bosun_at " + fishQuote(verb))
		line := fmt.Sprintf("complete -c bosun -n %s -l %s", cond, f.Name)
		if f.Shorthand != "" {
			line += " -s " + f.Shorthand
		}
		if takesValue(f) {
			vals := flagCompletion(f)
			switch {
			case len(vals) == 1 && vals[0] == ":file":
				line += " -r -F"
			case len(vals) == 1 && vals[0] == ":dir":
				line += " -x -a '(__fish_complete_directories)'"
			case len(vals) > 0:
				line += " -x -a " + fishQuote(strings.Join(vals, " "))
			default:
				line += " -x"
			}
		}
		fmt.Fprintf(w, "%s -d %s\n", line, fishQuote(oneLine(f.Usage, 80)))
	}
	for _, f := range collectFlags(globalFlagSet()) {
		flagLine("", f)
	}
	for _, s := range t.specs {
		for _, f := range s.flags {
			flagLine(s.name, f)
		}
		cond := fishQuote("__bosun_at " + fishQuote(s.name))
		switch {
		case s.args == ":file":
			fmt.Fprintf(w, "complete -c bosun -n %s -F\n", cond)
		case s.args == ":dir":
			fmt.Fprintf(w, "complete -c bosun -n %s -x -a '(__fish_complete_directories)'\n", cond)
		case strings.HasPrefix(s.args, "words "):
			fmt.Fprintf(w, "complete -c bosun -n %s -x -a %s\n", cond, fishQuote(strings.TrimPrefix(s.args, "words ")))
		case strings.HasPrefix(s.args, "ids "):
			fmt.Fprintf(w, "complete -c bosun -n %s -x -a %s\n", cond, fishQuote("(__bosun_ids "+strings.TrimPrefix(s.args, "ids ")+")"))
		}
	}
	return nil
}

// objectID is the id of a model object as the API lists it.
func objectID(raw []byte) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return str(m["id"])
}
