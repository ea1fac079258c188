package method

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/bosun-io/bosun/agent/host"
	"github.com/bosun-io/bosun/cond"
)

func init() {
	register(&method{Spec: Spec{ID: "command_execution", Params: []string{"command"}, ReportingParam: "command"}, run: commandExecution})
	register(&method{Spec: Spec{ID: "command_execution_result", Params: []string{"command", "kept_codes", "repaired_codes"},
		ReportingParam: "command"}, run: commandExecutionResult})
	register(&method{Spec: Spec{ID: "audit_from_command", Params: []string{"command", "compliant_codes"}, ReportingParam: "command"},
		run: auditFromCommand})
	register(&method{Spec: Spec{ID: "condition_from_command", Params: []string{"condition", "command", "true_codes", "false_codes"},
		ReportingParam: "condition"}, run: conditionFromCommand})
	register(&method{Spec: Spec{ID: "condition_from_expression", Params: []string{"condition", "expression"},
		ReportingParam: "condition"}, run: conditionFromExpression})
	register(&method{Spec: Spec{ID: "condition_from_variable_match", Params: []string{"condition", "variable_name", "expected_match"},
		ReportingParam: "condition"}, run: conditionFromVariableMatch, raw: []string{"variable_name"}})
	register(&method{Spec: Spec{ID: "variable_string", Params: []string{"prefix", "name", "value"}, ReportingParam: "name"},
		run: func(_ context.Context, env *Env, a args, _ Mode) outcome {
			if a["prefix"] == "" || a["name"] == "" {
				return failf("variable_string: empty prefix or name")
			}
			env.vars().Set(a["prefix"], a["name"], a["value"])
			return keptf("string %s.%s set to %q", a["prefix"], a["name"], a["value"])
		}})
	register(&method{Spec: Spec{ID: "variable_dict", Params: []string{"prefix", "name", "value"}, ReportingParam: "name"},
		run: func(_ context.Context, env *Env, a args, _ Mode) outcome {
			if a["prefix"] == "" || a["name"] == "" {
				return failf("variable_dict: empty prefix or name")
			}
			var v any
			if err := json.Unmarshal([]byte(a["value"]), &v); err != nil {
				return failf("dict %s.%s: value is not JSON: %v", a["prefix"], a["name"], err)
			}
			env.vars().Set(a["prefix"], a["name"], v)
			return keptf("dict %s.%s set to %s", a["prefix"], a["name"], a["value"])
		}})
	register(&method{Spec: Spec{ID: "report_if_condition", Params: []string{"report_message", "condition"}, ReportingParam: "report_message"},
		run: reportIfCondition,
		// Rudder names this one's conditions after both parameters, cut at 1000 characters.
		classBase: func(a args) string {
			b := canonify("report_if_condition_" + a["report_message"] + "_" + a["condition"])
			if len(b) > 1000 {
				b = b[:1000]
			}
			return b
		}})
}

// shell runs a technique's command line. Rudder runs these methods' commands in a shell
// (/bin/sh -c), and techniques rely on pipes and redirections, so bosun does too: these are the
// only methods that use a shell.
func shell(ctx context.Context, env *Env, command string) (host.CmdResult, error) {
	if strings.TrimSpace(command) == "" {
		return host.CmdResult{}, errors.New("empty command")
	}
	return env.Host.Commands.Run(ctx, host.Cmd{Shell: command})
}

// codes parses Rudder's comma-separated exit code lists.
func codes(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("exit code %q: not a number", f)
		}
		out[n] = true
	}
	return out, nil
}

// tail is the end of a command's output for a message: the end is where errors are.
func tail(r host.CmdResult) string {
	const max = 200
	s := strings.TrimSpace(string(r.Output))
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	if s == "" {
		return ""
	}
	return ": " + s
}

func commandExecution(ctx context.Context, env *Env, a args, mode Mode) outcome {
	cmd := a["command"]
	if mode != Enforce {
		return naf("command %q is not run in audit", cmd)
	}
	r, err := shell(ctx, env, cmd)
	if err != nil {
		return failf("command %q: %v", cmd, err)
	}
	if r.ExitCode != 0 {
		return failf("command %q exited with code %d%s", cmd, r.ExitCode, tail(r))
	}
	return repairedf("command %q ran and exited with code 0", cmd)
}

func commandExecutionResult(ctx context.Context, env *Env, a args, mode Mode) outcome {
	cmd := a["command"]
	keptCodes, err := codes(a["kept_codes"])
	if err != nil {
		return failf("kept_codes: %v", err)
	}
	repairedCodes, err := codes(a["repaired_codes"])
	if err != nil {
		return failf("repaired_codes: %v", err)
	}
	if mode != Enforce {
		return naf("command %q is not run in audit", cmd)
	}
	r, err := shell(ctx, env, cmd)
	switch {
	case err != nil:
		return failf("command %q: %v", cmd, err)
	case keptCodes[r.ExitCode]:
		return keptf("command %q exited with code %d, a kept code", cmd, r.ExitCode)
	case repairedCodes[r.ExitCode]:
		return repairedf("command %q exited with code %d, a repaired code", cmd, r.ExitCode)
	}
	return failf("command %q exited with code %d, neither kept nor repaired%s", cmd, r.ExitCode, tail(r))
}

// auditFromCommand runs its command in both modes, as Rudder does: the command is promised to
// change nothing.
func auditFromCommand(ctx context.Context, env *Env, a args, _ Mode) outcome {
	cmd := a["command"]
	ok, err := codes(a["compliant_codes"])
	if err != nil {
		return failf("compliant_codes: %v", err)
	}
	r, err := shell(ctx, env, cmd)
	if err != nil {
		return failf("command %q: %v", cmd, err)
	}
	if ok[r.ExitCode] {
		return keptf("command %q exited with code %d, a compliant code", cmd, r.ExitCode)
	}
	return driftf("command %q exited with code %d, not a compliant code%s", cmd, r.ExitCode, tail(r))
}

func conditionFromCommand(ctx context.Context, env *Env, a args, _ Mode) outcome {
	cn := canonify(a["condition"])
	trueCodes, err := codes(a["true_codes"])
	if err != nil {
		return failf("true_codes: %v", err)
	}
	falseCodes, err := codes(a["false_codes"])
	if err != nil {
		return failf("false_codes: %v", err)
	}
	r, err := shell(ctx, env, a["command"])
	switch {
	case err != nil:
		return failf("command %q: %v; no condition defined", a["command"], err)
	case trueCodes[r.ExitCode]:
		o := keptf("command %q exited with code %d: condition %s_true defined", a["command"], r.ExitCode, cn)
		o.conds = []string{cn + "_true"}
		return o
	case falseCodes[r.ExitCode]:
		o := keptf("command %q exited with code %d: condition %s_false defined", a["command"], r.ExitCode, cn)
		o.conds = []string{cn + "_false"}
		return o
	}
	return failf("command %q exited with code %d, neither a true nor a false code; no condition defined%s", a["command"], r.ExitCode, tail(r))
}

// eval evaluates a condition expression against the conditions defined so far.
func (env *Env) eval(expr string) (bool, error) {
	e, err := cond.Parse(expr)
	if err != nil {
		return false, err
	}
	return e.Eval(env.conditions().Has), nil
}

func conditionFromExpression(_ context.Context, env *Env, a args, _ Mode) outcome {
	cn := canonify(a["condition"])
	ok, err := env.eval(a["expression"])
	if err != nil {
		return failf("expression %q: %v; no condition defined", a["expression"], err)
	}
	name := cn + "_false"
	if ok {
		name = cn + "_true"
	}
	o := keptf("expression %q is %t: condition %s defined", a["expression"], ok, name)
	o.conds = []string{name}
	return o
}

func conditionFromVariableMatch(_ context.Context, env *Env, a args, _ Mode) outcome {
	cn := canonify(a["condition"])
	name := strings.TrimSuffix(strings.TrimPrefix(a["variable_name"], "${"), "}")
	// CFEngine's regcmp matches the whole string.
	re, err := regexp.Compile("^(?:" + a["expected_match"] + ")$")
	if err != nil {
		return failf("regular expression %q: %v", a["expected_match"], err)
	}
	o := outcome{conds: []string{cn + "_false"}}
	ref, keys, _ := strings.Cut(name, "[")
	var idx []string
	if keys != "" {
		for _, k := range strings.Split(strings.TrimSuffix(keys, "]"), "][") {
			idx = append(idx, k)
		}
	}
	v, ok := env.vars().Lookup(ref, idx...)
	switch s, isString := v.(string); {
	case !ok:
		o.kind, o.msg = failed, fmt.Sprintf("variable %s is not defined: condition %s_false defined", name, cn)
	case !isString:
		o.kind, o.msg = kept, fmt.Sprintf("variable %s is not a string: condition %s_false defined", name, cn)
	case re.MatchString(s):
		o.kind, o.msg = kept, fmt.Sprintf("variable %s matches %q: condition %s_true defined", name, a["expected_match"], cn)
		o.conds = []string{cn + "_true"}
	default:
		o.kind, o.msg = kept, fmt.Sprintf("variable %s does not match %q: condition %s_false defined", name, a["expected_match"], cn)
	}
	return o
}

func reportIfCondition(_ context.Context, env *Env, a args, _ Mode) outcome {
	ok, err := env.eval(a["condition"])
	switch {
	case err != nil:
		return failf("%s: condition %q: %v", a["report_message"], a["condition"], err)
	case ok:
		return keptf("%s was correct: expression %q is true", a["report_message"], a["condition"])
	}
	return driftf("%s was incorrect: expression %q is false", a["report_message"], a["condition"])
}
