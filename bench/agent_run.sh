#!/usr/bin/env bash
# Prints the agent-run figures of `make bench`:
#  - wall time and peak memory of `bosun agent run --technique` applying 500 components
#    (250 files, each a file_content and a permissions call) with nothing to fix, then with
#    everything to fix (every file with the wrong content and mode 600);
#  - the same 500 promises run by CFEngine's cf-agent (Debian package cfengine3), and the
#    ratio; skipped cleanly when cf-agent is not installed;
#  - the resident memory of an idle agent daemon that holds and has run the example policy.
# The design aims at <= 50 ms, <= 20 MB during a run and <= 12 MB idle.
# FILES (default 250) and RUNS (default 10) change the size and the repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${BOSUN:-bin/bosun}")
[ -x "$bin" ] || make -s build
FILES=${FILES:-250}
RUNS=${RUNS:-10}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
dir=$work/files

# The technique: for every file, its content and its permissions.
{
	echo "id: bench_files"
	echo "name: Bench files"
	echo 'version: "1.0"'
	echo "params:"
	echo "  - name: dir"
	echo "items:"
	for i in $(seq -w 1 "$FILES"); do
		cat <<EOF
  - id: content-$i
    name: "content $i"
    method: file_content
    params: {path: "\${dir}/f$i", lines: "managed file $i", enforce: "true"}
  - id: perms-$i
    name: "perms $i"
    method: permissions
    params: {path: "\${dir}/f$i", mode: "644"}
EOF
	done
} >"$work/bench.yml"

# The same promises for cf-agent: an exact content (emptied, then the line) and a mode.
{
	cat <<EOF
body common control { bundlesequence => { "bench" }; }
body edit_defaults bench_empty { empty_file_before_editing => "true"; edit_backup => "false"; }
body perms bench_mode(m) { mode => "\$(m)"; }
bundle edit_line bench_lines(l) { insert_lines: "\$(l)"; }
bundle agent bench
{
vars:
  "i" slist => { $(seq -w 1 "$FILES" | sed 's/.*/"&"/' | paste -sd, -) };
files:
  "$dir/f\$(i)"
    handle => "content_\$(i)",
    create => "true",
    edit_defaults => bench_empty,
    edit_line => bench_lines("managed file \$(i)");
  "$dir/f\$(i)"
    handle => "perms_\$(i)",
    perms => bench_mode("644");
}
EOF
} >"$work/bench.cf"
chmod 600 "$work/bench.cf"

spoil() {
	rm -rf "$dir"
	mkdir -p "$dir"
	for i in $(seq -w 1 "$FILES"); do
		echo "wrong" >"$dir/f$i"
		chmod 600 "$dir/f$i"
	done
}

bosun_cmd=("$bin" agent run --data "$work/agent-none" --technique "$work/bench.yml" --param "dir=$dir")
cf_cmd=(cf-agent -K -f "$work/bench.cf")
bosun_run() { "${bosun_cmd[@]}" >"$work/out.txt" 2>&1; }
cf_run() { "${cf_cmd[@]}" >"$work/out.txt" 2>&1; }

# measure NAME PREP CMD...: RUNS runs of CMD under /usr/bin/time -v, each after PREP (or
# none: -); prints the median wall time and the largest peak RSS, and leaves the median in
# ms in $median_ms.
measure() {
	local name=$1 prep=$2 ms=() kb=0 k t0 t1
	shift 2
	for _ in $(seq 1 "$RUNS"); do
		[ "$prep" != - ] && $prep
		t0=$(date +%s%N)
		/usr/bin/time -v -o "$work/time.txt" "$@" >"$work/out.txt" 2>&1 || true
		t1=$(date +%s%N)
		ms+=("$(( (t1 - t0) / 1000 ))")
		k=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
		[ "$k" -gt "$kb" ] && kb=$k
	done
	median_ms=$(printf '%s\n' "${ms[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}')
	printf '  %-34s median %7s ms   peak RSS %5.1f MB   (%d runs)\n' "$name" "$median_ms" "$(awk "BEGIN{print $kb/1024}")" "$RUNS"
}

components=$((FILES * 2))
echo "== a run of $components components ($FILES files x file_content + permissions)"
if ! [ -x /usr/bin/time ]; then
	echo "  /usr/bin/time (GNU time) is not installed: apt-get install time" >&2
	exit 1
fi
spoil
bosun_run || true
grep -q "100.0% compliant" "$work/out.txt" || { echo "bosun did not converge:"; cat "$work/out.txt"; exit 1; }
measure "bosun, nothing to fix" - "${bosun_cmd[@]}"
b_ok=$median_ms
sed -n 's/^config [0-9a-f]*, ran in \([^,]*\),.*/  (inside the process, the run itself: \1)/p' "$work/out.txt"
measure "bosun, everything to fix" spoil "${bosun_cmd[@]}"
b_fix=$median_ms
grep -q "repaired $components" "$work/out.txt" || { echo "  expected $components repairs:"; tail -4 "$work/out.txt"; }

if command -v cf-agent >/dev/null; then
	spoil
	cf_run || true
	measure "cf-agent, nothing to fix" - "${cf_cmd[@]}"
	c_ok=$median_ms
	measure "cf-agent, everything to fix" spoil "${cf_cmd[@]}"
	c_fix=$median_ms
	# cf-agent must have done the work it was timed on.
	if [ "$(cat "$dir/f001")" != "managed file 001" ] || [ "$(stat -c %a "$dir/f001")" != 644 ]; then
		echo "  warning: cf-agent did not converge f001; its output:"
		head -5 "$work/out.txt"
	fi
	awk -v a="$b_ok" -v b="$c_ok" -v c="$b_fix" -v d="$c_fix" 'BEGIN {
		printf "  ratio cf-agent / bosun: nothing to fix %.1fx, everything to fix %.1fx\n", b/a, d/c }'
else
	echo "  cf-agent not installed (Debian: apt-get install cfengine3): comparison skipped"
fi

if command -v hyperfine >/dev/null; then
	echo "== hyperfine (bosun nothing to fix / everything to fix${c_ok:+, cf-agent the same})"
	cmds=("${bosun_cmd[*]}")
	spoil
	bosun_run || true
	hyperfine -N --warmup 2 --runs 20 --style basic -i "${cmds[0]}" 2>&1 | grep -E 'Time|Range' || true
	hyperfine --warmup 1 --runs 20 --style basic -i --prepare "bash -c '$(declare -f spoil); dir=$dir FILES=$FILES; spoil'" "${cmds[0]}" 2>&1 | grep -E 'Time|Range' || true
	if [ -n "${c_ok:-}" ]; then
		hyperfine -N --warmup 2 --runs 20 --style basic -i "cf-agent -K -f $work/bench.cf" 2>&1 | grep -E 'Time|Range' || true
	fi
fi

echo "== idle agent daemon: resident memory after running the example policy"
port=$((20000 + ($$ * 7) % 20000))
quic=127.0.0.1:$port api=127.0.0.1:$((port + 1))
export BOSUN_CONFIG=$work/cli.json
"$bin" root init --data "$work/root" --api-url "https://$api" --cli-config "$BOSUN_CONFIG" >/dev/null
"$bin" root --data "$work/root" --listen "$quic" --api-listen "$api" >"$work/root.log" 2>&1 &
pids+=($!)
"$bin" agent --data "$work/agent" --server "$quic" --hostname bench-agent --interval 1s --root-prefix "$work/agent-tree" >"$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
id=""
for _ in $(seq 1 100); do
	id=$("$bin" nodes list --status pending --quiet 2>/dev/null | head -1 || true)
	[ -n "$id" ] && break
	sleep 0.1
done
[ -n "$id" ] || { echo "the agent did not enrol; its log:"; cat "$work/agent.log"; exit 1; }
"$bin" nodes accept "$id" >/dev/null
"$bin" apply -f examples/ >/dev/null
ran=""
for _ in $(seq 1 300); do
	grep -q 'msg="run done"' "$work/agent.log" && { ran=1; break; }
	sleep 0.1
done
[ -n "$ran" ] || { echo "the agent did not run its policy within 30 s; its log:"; tail "$work/agent.log"; exit 1; }
sleep 5
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
anon=$(awk '/RssAnon/ {print $2}' "/proc/$agent/status")
file=$(awk '/RssFile/ {print $2}' "/proc/$agent/status")
mb() { awk "BEGIN{printf \"%.1f\", $1/1024}"; }
echo "  idle agent daemon: RSS $(mb "$rss") MB (peak since start $(mb "$hwm") MB), contact every 1 s"
echo "    of which anonymous (heap, stacks) $(mb "$anon") MB, file-backed (pages of the $(mb "$(($(stat -c %s "$bin") / 1024))") MB binary) $(mb "$file") MB"
