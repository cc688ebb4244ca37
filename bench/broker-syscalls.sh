#!/usr/bin/env bash
# Benchmark helper (not a test): system calls and voluntary context switches per call of the
# broker's issuance and introspection, on the native binary (callgrind counts a system call as
# one instruction, so `bench/percall.sh` cannot see them). Counts, not times: usable on a busy
# machine.
#
#   bash bench/broker-syscalls.sh                                  # this checkout's release binary
#   TESSERA_BIN=/tmp/old/tessera CALLS=4000 bash bench/broker-syscalls.sh
#
# For each endpoint: a warm-up of 1,000 calls, then CALLS calls (bench/count.py, 16 keep-alive
# connections) with the voluntary context switches of every broker thread read from
# /proc/PID/task/*/status before and after; then 1,000 calls under `strace -f -c -p`, printing
# the eight most frequent system calls per call. Needs strace.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/bench/lib.sh"
CALLS="${CALLS:-4000}"
bench_binary
command -v strace >/dev/null || die "strace is needed (apt-get install strace)"
bench_clean_env

bench_workdir broker-syscalls

REDIS_PORT="$(free_port)"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK" > "$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
write_broker_config "$WORK/broker.toml" "$REDIS_PORT" '[tokens]
access_token_ttl_secs = 3600'
"$BIN" broker --config "$WORK/broker.toml" > "$WORK/broker.log" 2>&1 &
BROKER_PID=$!
PIDS+=("$BROKER_PID")
for _ in $(seq 200); do curl -s -o /dev/null "$BASE/readyz" && break; sleep 0.1; done
bench_app
TOKEN="$(curl -s -X POST -H "Authorization: $BENCH_BASIC_AUTH" --data grant_type=client_credentials "$BASE/token" | json_get 'd["access_token"]')"

switches() { cat /proc/"$BROKER_PID"/task/*/status | awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s }'; }
for target in "token form:grant_type=client_credentials" "introspect form:token=$TOKEN"; do
  path="${target%% *}"; mode="${target#* }"
  python3 bench/count.py "$BASE/$path" 1000 16 "$mode" > /dev/null
  before="$(switches)"
  python3 bench/count.py "$BASE/$path" "$CALLS" 16 "$mode" > "$WORK/calls"
  after="$(switches)"
  echo "/$path: $(cat "$WORK/calls"), voluntary context switches per call $(per_call $((after - before)) "$CALLS")"
  strace -f -c -o "$WORK/strace" -p "$BROKER_PID" 2> /dev/null &
  STRACE_PID=$!
  sleep 1
  python3 bench/count.py "$BASE/$path" 1000 16 "$mode" > /dev/null
  sleep 0.5
  kill -INT "$STRACE_PID"; wait "$STRACE_PID" 2>/dev/null || true
  echo "  system calls per call (1,000 calls under strace):"
  awk 'NR > 2 && $NF != "total" && $4 + 0 > 0 { printf "    %-12s %.2f\n", $NF, $4 / 1000 }' "$WORK/strace" | sort -k2 -rn | head -8
done
