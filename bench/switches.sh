#!/usr/bin/env bash
# Benchmark helper (not a test): context switches and Redis commands per proxied call with the
# token cache off (issue 11, P2: a store lookup per call) — counts, which repeat on a busy
# machine, unlike requests/s.
#
#   bash bench/switches.sh                                # this checkout's release binary
#   TESSERA_BIN=/tmp/old/tessera CALLS=20000 bash bench/switches.sh
#
# Starts Redis, a broker, the echo backend and a one-worker proxy (cache off, analytics on),
# makes WARMUP calls, then CALLS calls over CONNECTIONS keep-alive connections (bench/count.py),
# and reports per call: the proxy's context switches (voluntary + involuntary, summed over its
# threads from /proc/PID/task/*/status), each thread's share, Redis's own switches, and Redis
# commands (INFO commandstats). Nothing is pinned.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/bench/lib.sh"

CALLS="${CALLS:-20000}"
WARMUP="${WARMUP:-2000}"
CONNECTIONS="${CONNECTIONS:-16}"
CACHE="${CACHE:-false}"
bench_binary
bench_clean_env

bench_workdir switches
start() { local name="$1"; shift; "$@" > "$WORK/$name.log" 2>&1 & STARTED_PID=$!; PIDS+=("$STARTED_PID"); }
ready() { wait_ready 600 "$@"; } # ready URL [PATTERN]: 60 s at most
# switches PID: "thread-name total" per thread of PID (voluntary + involuntary context switches).
switches() {
  local t
  for t in /proc/"$1"/task/*; do
    awk -v n="$(cat "$t/comm" 2>/dev/null || echo gone)" -v id="${t##*/}" \
      '/^(non)?voluntary_ctxt_switches/ { s += $2 } END { print id, n, s + 0 }' "$t/status" 2>/dev/null || true
  done
}

bench_proxy_stack

python3 bench/count.py "$URL" "$WARMUP" "$CONNECTIONS" "header:Authorization:Bearer $TOKEN" > /dev/null
sleep 1
switches "$PROXY_PID" > "$WORK/before"; switches "$REDIS_PID" > "$WORK/redis.before"
cmdstats "$REDIS_PORT" "$WORK/cmd.before"
python3 bench/count.py "$URL" "$CALLS" "$CONNECTIONS" "header:Authorization:Bearer $TOKEN" > "$WORK/calls"
switches "$PROXY_PID" > "$WORK/after"; switches "$REDIS_PID" > "$WORK/redis.after"
cmdstats "$REDIS_PORT" "$WORK/cmd.after"
echo "calls: $(cat "$WORK/calls")"
# delta BEFORE AFTER: per thread (by name) and in all, per call.
delta() {
  awk -v c="$CALLS" 'FNR == NR { b[$1] = $3; next }
    { d = $3 - b[$1]; by[$2] += d; all += d }
    END { for (n in by) if (by[n] > 0) printf "  %-20s %.3f\n", n, by[n] / c; printf "  %-20s %.3f\n", "all threads", all / c }' "$1" "$2"
}
echo "proxy context switches per call:"; delta "$WORK/before" "$WORK/after"
echo "redis context switches per call:"; delta "$WORK/redis.before" "$WORK/redis.after"
echo "Redis commands per call: $(per_call "$(cmd_delta "$WORK/cmd.before" "$WORK/cmd.after" all)" "$CALLS") ($(cmd_top "$WORK/cmd.before" "$WORK/cmd.after" 4))"
