#!/usr/bin/env bash
# make demo: a root, a relay and three agents on 127.0.0.1 in a temporary directory. The
# agents enrol through the relay, the CLI accepts them, the node list is printed, and
# everything stops cleanly (at the end, or on Ctrl-C). KEEP=1 keeps the fleet running until
# Ctrl-C. Ports: DEMO_PORT (default 16710) and the next ones.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BOSUN_BIN:-$PWD/bin/bosun}
PORT=${DEMO_PORT:-16710}
ROOT_QUIC=127.0.0.1:$PORT
ROOT_API=127.0.0.1:$((PORT + 1))
RELAY=127.0.0.1:$((PORT + 2))
DIR=$(mktemp -d -t bosun-demo.XXXXXX)
export BOSUN_CONFIG=$DIR/cli.json
pids=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stop_all() {
  trap - EXIT INT TERM
  say "stopping the fleet"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  local status=0
  for p in "${pids[@]}"; do wait "$p" || status=$?; done
  if [ "$status" -eq 0 ]; then echo "every process stopped cleanly; logs in $DIR"; else echo "a process exited with status $status; logs in $DIR"; fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# wait_for DESCRIPTION COMMAND...: retry for up to 30 s.
wait_for() {
  local what=$1; shift
  for _ in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "gave up waiting for $what; logs in $DIR" >&2
  exit 1
}

count_pending() { [ "$("$BIN" nodes list --status pending --quiet | wc -l)" -ge "$1" ]; }

say "bosun root init"
"$BIN" root init --data "$DIR/root" --api-url "https://$ROOT_API" | tee "$DIR/init.txt"
ROOT_FP=$(sed -n 's/.*fingerprint: *//p' "$DIR/init.txt" | head -1)

say "starting the root ($ROOT_QUIC QUIC, https://$ROOT_API API)"
"$BIN" root --data "$DIR/root" --listen "$ROOT_QUIC" --api-listen "$ROOT_API" --gossip-listen "127.0.0.1:$((PORT + 3))" >"$DIR/root.log" 2>&1 &
pids+=($!)
wait_for "the root's API" "$BIN" nodes list

say "starting a relay ($RELAY), pinned to the root's key"
"$BIN" relay --data "$DIR/relay" --listen "$RELAY" --upstream "$ROOT_QUIC" --upstream-fingerprint "$ROOT_FP" \
  --zone demo --gossip-listen "127.0.0.1:$((PORT + 4))" --core-gossip-listen "127.0.0.1:$((PORT + 5))" \
  --metrics-listen "127.0.0.1:$((PORT + 6))" --stats-interval 5s >"$DIR/relay.log" 2>&1 &
pids+=($!)
wait_for "the relay's enrolment" count_pending 1
RELAY_ID=$("$BIN" nodes list --status pending --quiet | head -1)
RELAY_FP=$("$BIN" nodes show --json "$RELAY_ID" | sed -n 's/.*"keyFingerprint": "\(.*\)".*/\1/p')
"$BIN" nodes accept "$RELAY_ID"

say "starting three agents behind the relay, pinned to the relay's key"
for i in 1 2 3; do
  "$BIN" agent --data "$DIR/agent$i" --server "$RELAY" --server-fingerprint "$RELAY_FP" --root-fingerprint "$ROOT_FP" \
    --hostname "demo-agent-$i" --interval 2s --gossip-listen 127.0.0.1:0 >"$DIR/agent$i.log" 2>&1 &
  pids+=($!)
done
wait_for "three pending agents" count_pending 3
"$BIN" nodes list

say "accepting the agents: bosun nodes list --status pending --quiet | xargs bosun nodes accept"
"$BIN" nodes list --status pending --quiet | xargs "$BIN" nodes accept

say "bosun nodes list"
"$BIN" nodes list

say "applying the example policy: bosun apply -f examples/"
"$BIN" apply -f examples/
have_policy() { "$BIN" agent policy --data "$DIR/agent$1" >/dev/null 2>&1; }
for i in 1 2 3; do wait_for "agent $i's policy" have_policy "$i"; done

say "what demo-agent-1 holds: bosun agent policy --data $DIR/agent1"
"$BIN" agent policy --data "$DIR/agent1"

say "demo-agent-3 runs everything in audit: bosun agent set-force-audit"
"$BIN" agent set-force-audit --data "$DIR/agent3"

for i in 1 3; do
  say "a run in the foreground on demo-agent-$i: bosun agent run --data $DIR/agent$i"
  "$BIN" agent run --data "$DIR/agent$i" || echo "(exit status $?: something is not compliant, as the table says)"
done

say "why: bosun policy why <agent1> demo-motd"
"$BIN" policy why "$("$BIN" nodes list --quiet --role agent | head -1)" demo-motd

have_reports() { [ "$("$BIN" compliance --json | sed -n 's/.*"total": \([0-9]*\).*/\1/p' | head -1)" -gt 0 ]; }
wait_for "the agents' reports at the root" have_reports
say "the fleet's compliance at the root: bosun compliance"
"$BIN" compliance

say "the dashboard: https://$ROOT_API/ui/ (the root's self-signed certificate: $DIR/root/api.crt), with the admin token above"
if [ "${KEEP:-0}" = 1 ]; then
  say "the fleet runs; BOSUN_CONFIG=$BOSUN_CONFIG $BIN nodes list from another shell; Ctrl-C stops it"
  wait
fi
