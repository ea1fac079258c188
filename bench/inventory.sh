#!/usr/bin/env bash
# Prints the inventory figures of `make bench`: collection time and peak memory of
# `bosun agent inventory --local` on this machine, and the wire size of a full and of an
# unchanged inventory that a real agent sends to a real root on 127.0.0.1.
# The design aims at <= 300 ms and <= 20 MB for collection, <= 300 bytes unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BOSUN:-bin/bosun}
[ -x "$bin" ] || make -s build
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# peak_rss_kb CMD...: runs CMD, prints its output, then its peak resident set in kB on fd 3.
peak_rss_kb() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v -o "$work/time.txt" "$@"
		awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt" >&3
	else
		# No GNU time: sample the process's own high-water mark until it exits.
		"$@" & local pid=$! hwm=0 v
		while kill -0 "$pid" 2>/dev/null; do
			v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
			[ -n "$v" ] && hwm=$v
			sleep 0.01
		done
		wait "$pid"
		echo "$hwm" >&3
	fi
}

echo "== inventory collection: bosun agent inventory --local (5 runs)"
best_ms=""; worst_kb=0
for i in 1 2 3 4 5; do
	out=$(peak_rss_kb "$bin" agent inventory --data "$work/local" --local "$work/inv.json" -i 3>"$work/rss")
	ms=$(sed -n 's/^collected in \([0-9.]*\)\(m\?s\).*/\1 \2/p' <<<"$out" | awk '{ if ($2 == "s") print $1*1000; else print $1 }')
	kb=$(cat "$work/rss")
	echo "  run $i: ${ms} ms, peak RSS ${kb} kB"
	if [ -z "$best_ms" ] || awk "BEGIN{exit !($ms < $best_ms)}"; then best_ms=$ms; fi
	[ "$kb" -gt "$worst_kb" ] && worst_kb=$kb
done
pkgs=$(grep -c '"source": "dpkg"\|"source": "rpm"\|"source": "apk"' "$work/inv.json" || true)
printf 'collection: best %s ms, peak RSS %.1f MB (max of 5 runs), %s packages, %s bytes of JSON\n' \
	"$best_ms" "$(awk "BEGIN{print $worst_kb/1024}")" "$pkgs" "$(wc -c <"$work/inv.json")"

echo "== wire size: an agent sends its inventory to a root on 127.0.0.1"
port=$((20000 + $$ % 20000))
quic=127.0.0.1:$port api=127.0.0.1:$((port + 1))
"$bin" root init --data "$work/root" --api-url "https://$api" --cli-config "$work/cli.json" >/dev/null
"$bin" root --data "$work/root" --listen "$quic" --api-listen "$api" >"$work/root.log" 2>&1 &
pids+=($!)
"$bin" agent --data "$work/agent" --server "$quic" --hostname bench-agent --interval 1s --log-level debug >"$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
full=""
for _ in $(seq 1 300); do
	full=$(sed -n 's/.*msg="inventory sent".* kind=full bytes=\([0-9]*\).*/\1/p' "$work/agent.log" | head -1)
	[ -n "$full" ] && break
	sleep 0.1
done
kill "$agent"; wait "$agent" 2>/dev/null || true
if [ -z "$full" ]; then
	echo "the agent sent no full inventory within 30 s; its log:" >&2
	cat "$work/agent.log" >&2
	exit 1
fi
second=$("$bin" agent inventory --data "$work/agent" --hostname bench-agent)
echo "  $second"
unchanged=$(sed -n 's/.*: delta, \([0-9]*\) bytes on the wire.*/\1/p' <<<"$second")
echo "wire: full inventory ${full} bytes, unchanged inventory ${unchanged:-?} bytes (delta, signed, framed)"
