package method

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func init() {
	register(&method{Spec: Spec{ID: "sysctl_value", Params: []string{"key", "value", "filename", "option"}, ReportingParam: "key"}, run: sysctlValue})
	register(&method{Spec: Spec{ID: "kernel_module_loaded", Params: []string{"name"}, ReportingParam: "name"}, run: kernelModuleLoaded})
	register(&method{Spec: Spec{ID: "environment_variable", Params: []string{"name", "value"}, ReportingParam: "name",
		ClassPrefix: "environment_variable_present"}, run: environmentVariable})
	register(&method{Spec: Spec{ID: "http_request_check_status_headers", Params: []string{"method", "url", "expected_status", "headers"},
		ReportingParam: "url"}, run: httpRequestCheckStatusHeaders})
	register(&method{Spec: Spec{ID: "schedule_simple", Params: []string{"job_id", "agent_periodicity", "max_execution_delay_minutes",
		"max_execution_delay_hours", "start_on_minutes", "start_on_hours", "start_on_day_of_week", "periodicity_minutes",
		"periodicity_hours", "periodicity_days", "mode"}, ReportingParam: "job_id"}, run: scheduleSimple})
}

// sysctlCompare says whether have satisfies want under option: numerically when both are
// integers, else as strings (so 10 > 2 but Test10 < Test2), as Rudder does.
func sysctlCompare(have, want, option string) (bool, error) {
	cmp := strings.Compare(have, want)
	hi, err1 := strconv.ParseInt(have, 10, 64)
	wi, err2 := strconv.ParseInt(want, 10, 64)
	if err1 == nil && err2 == nil {
		cmp = 0
		if hi < wi {
			cmp = -1
		} else if hi > wi {
			cmp = 1
		}
	}
	switch strings.ToLower(strings.TrimSpace(option)) {
	case "", "default":
		return cmp == 0, nil
	case "min":
		return cmp >= 0, nil
	case "max":
		return cmp <= 0, nil
	}
	return false, fmt.Errorf("option %q: want min, max or default", option)
}

// sysctlValue checks the running value; to fix, it writes key = value into
// /etc/sysctl.d/<filename>.conf (so the value survives a reboot) and sets the running value
// through /proc/sys. Rudder reloads every file with sysctl --system instead; setting the one
// key touches nothing else.
func sysctlValue(ctx context.Context, env *Env, a args, mode Mode) outcome {
	key := a["key"]
	want := strings.Join(strings.Fields(a["value"]), " ")
	have, err := env.Host.Sysctl.Value(ctx, key)
	if err != nil {
		return hostErr(err)
	}
	ok, err := sysctlCompare(have, want, a["option"])
	if err != nil {
		return failf("sysctl %s: %v", key, err)
	}
	if ok {
		return keptf("sysctl %s is %s (want %s, option %q)", key, have, want, a["option"])
	}
	if mode != Enforce {
		return driftf("sysctl %s is %s, want %s (option %q)", key, have, want, a["option"])
	}
	if a["filename"] == "" || strings.ContainsRune(a["filename"], '/') {
		return failf("sysctl %s is %s, want %s: filename %q is not a file name in /etc/sysctl.d", key, have, want, a["filename"])
	}
	dir := "/etc/sysctl.d"
	if fi, err := os.Stat(env.path(dir)); err != nil || !fi.IsDir() {
		return failf("sysctl %s is %s, want %s: %s does not exist", key, have, want, dir)
	}
	conf := filepath.Join(dir, a["filename"]+".conf")
	if o := editFile(env, mode, conf, true, kvEdit([]string{key}, map[string]string{key: a["value"]}, " = ")); o.kind == failed {
		return failf("sysctl %s is %s, want %s: %s", key, have, want, o.msg)
	}
	if err := env.Host.Sysctl.SetValue(ctx, key, a["value"]); err != nil {
		return failf("sysctl %s is %s, want %s: %v", key, have, want, err)
	}
	after, err := env.Host.Sysctl.Value(ctx, key)
	if err != nil {
		return failf("sysctl %s was set but the re-check failed: %v", key, err)
	}
	if ok, _ := sysctlCompare(after, want, a["option"]); !ok {
		return failf("sysctl %s was set to %s but reads %s", key, want, after)
	}
	return repairedf("sysctl %s was %s and is now %s (saved in %s)", key, have, after, conf)
}

func kernelModuleLoaded(ctx context.Context, env *Env, a args, mode Mode) outcome {
	name := a["name"]
	m := env.Host.Modules
	ok, err := m.Loaded(ctx, name)
	if err != nil {
		return hostErr(err)
	}
	if ok {
		return keptf("kernel module %s is loaded", name)
	}
	if mode != Enforce {
		return driftf("kernel module %s is not loaded", name)
	}
	if err := m.Load(ctx, name); err != nil {
		return failf("kernel module %s is not loaded, and loading it failed: %v", name, err)
	}
	if ok, err := m.Loaded(ctx, name); err != nil || !ok {
		return failf("kernel module %s was loaded but the re-check says otherwise (%v)", name, err)
	}
	return repairedf("kernel module %s was not loaded and has been loaded", name)
}

// environmentVariable sets name=value in /etc/environment, as Rudder's set_variable_values.
func environmentVariable(_ context.Context, env *Env, a args, mode Mode) outcome {
	if a["name"] == "" || strings.ContainsAny(a["name"], "= \t\n") {
		return failf("environment variable name %q is not a name", a["name"])
	}
	return editFile(env, mode, "/etc/environment", true, kvEdit([]string{a["name"]}, map[string]string{a["name"]: a["value"]}, "="))
}

// httpRequestCheckStatusHeaders asks with net/http where Rudder runs curl. GET and HEAD are
// asked in audit too; other methods may change the server, so audit does not send them.
func httpRequestCheckStatusHeaders(ctx context.Context, env *Env, a args, mode Mode) outcome {
	verb := strings.ToUpper(strings.TrimSpace(a["method"]))
	if verb == "" {
		verb = http.MethodGet
	}
	u := a["url"]
	want, err := strconv.Atoi(strings.TrimSpace(a["expected_status"]))
	if err != nil {
		return failf("expected_status %q: not a status code", a["expected_status"])
	}
	if mode != Enforce && verb != http.MethodGet && verb != http.MethodHead {
		return naf("HTTP %s %s is not sent in audit", verb, u)
	}
	req, err := http.NewRequestWithContext(ctx, verb, u, nil)
	if err != nil {
		return failf("HTTP %s %s: %v", verb, u, err)
	}
	for _, h := range strings.Split(a["headers"], "\n") {
		if k, v, ok := strings.Cut(h, ":"); ok && strings.TrimSpace(k) != "" {
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	client := env.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return failf("HTTP %s %s: %v", verb, u, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode == want {
		return keptf("HTTP %s %s returned %d as expected", verb, u, resp.StatusCode)
	}
	return driftf("HTTP %s %s returned %d, expected %d", verb, u, resp.StatusCode, want)
}

// scheduleSimple tells whether a job is due: repaired (enforce) when it is, kept when it is
// not. Time is counted in minutes from the start (day of week, hour, minute, local time); a
// per-node splay in [0, max delay] spreads the fleet; the job is due during the agent run
// interval that follows start + splay + k × period. In nodups and catchup modes, the last run
// period is kept in DataDir (the only place audit may write) so that a job runs once per
// period; catchup also runs a job whose due run was missed. In audit the verdict is
// reported compliant and the conditions are those of a due (repaired) or idle (kept) job alike.
func scheduleSimple(_ context.Context, env *Env, a args, mode Mode) outcome {
	n := func(k string) (int, error) {
		v := strings.TrimSpace(a[k])
		if v == "" {
			return 0, nil
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 {
			return 0, fmt.Errorf("%s %q: not a non-negative integer", k, v)
		}
		return i, nil
	}
	var vals [10]int
	for i, k := range []string{"agent_periodicity", "max_execution_delay_minutes", "max_execution_delay_hours",
		"start_on_minutes", "start_on_hours", "start_on_day_of_week", "periodicity_minutes", "periodicity_hours",
		"periodicity_days"} {
		v, err := n(k)
		if err != nil {
			return failf("schedule %s: %v", a["job_id"], err)
		}
		vals[i] = v
	}
	agentPeriod := vals[0]
	maxDelay := vals[1] + 60*vals[2]
	period := vals[6] + 60*vals[7] + 1440*vals[8]
	jobMode := strings.TrimSpace(a["mode"])
	switch {
	case agentPeriod <= 0:
		return failf("schedule %s: agent_periodicity must be positive", a["job_id"])
	case period < agentPeriod:
		return failf("schedule %s: job period %d min is shorter than the agent run interval %d min", a["job_id"], period, agentPeriod)
	case maxDelay >= period:
		return failf("schedule %s: max execution delay %d min is not shorter than the job period %d min", a["job_id"], maxDelay, period)
	case jobMode != "nodups" && jobMode != "catchup" && jobMode != "stateless":
		return failf("schedule %s: mode %q: want nodups, catchup or stateless", a["job_id"], jobMode)
	}
	now := env.now()
	dow := (int(now.Weekday())+6)%7 + 1 // %u: Monday is 1
	fromStart := now.Minute() - vals[3] + 60*(now.Hour()-vals[4]) + 1440*(((dow-vals[5])%7+7)%7)
	h := fnv.New32a()
	h.Write([]byte(env.NodeID + "\x00" + a["job_id"]))
	splay := 0
	if maxDelay > 0 {
		splay = int(h.Sum32() % uint32(maxDelay+1))
	}
	t := fromStart - splay
	runID := floorDiv(t, period)
	due := t-runID*period < agentPeriod

	state := filepath.Join(env.DataDir, "schedule", canonify(a["job_id"]))
	last, haveLast := readRunID(state)
	run := false
	switch jobMode {
	case "stateless":
		run = due
	case "nodups":
		run = due && (!haveLast || last != runID)
	case "catchup":
		run = (due && (!haveLast || last != runID)) || (haveLast && last < runID)
	}
	if run && jobMode != "stateless" && env.DataDir != "" {
		// The agent's own data: written in audit too, like Rudder's persistent classes.
		if err := os.MkdirAll(filepath.Dir(state), 0o700); err == nil {
			os.WriteFile(state, []byte(strconv.Itoa(runID)), 0o600)
		}
	}
	if !run {
		return keptf("job %s is not due (period %d min, splay %d min)", a["job_id"], period, splay)
	}
	if mode != Enforce {
		o := keptf("job %s is due now (period %d min, splay %d min)", a["job_id"], period, splay)
		o.conds = []string{canonify("schedule_simple_"+a["job_id"]) + "_repaired"}
		return o
	}
	return repairedf("job %s is due now (period %d min, splay %d min)", a["job_id"], period, splay)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func readRunID(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return 0, false
	}
	id, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return id, err == nil
}
