#!/usr/bin/env bash
# Benchmark helper (not a test), issue 11 P5: what a flood of refused calls costs Redis, in
# counts only (no time is measured, so it repeats on a busy machine). For each target, a fresh
# proxy (token cache and analytics on) or broker over a Redis of its own gets CALLS refused calls
# (bench/count.py over CONNECTIONS keep-alive connections); then, once the analytics writer is
# idle, it reports Redis commands per refused call (INFO commandstats, INFO itself left out) and
# what the analytics streams hold: entries and bytes (MEMORY USAGE), and bytes per 10,000 calls.
#
#   TESSERA_BIN=/path/to/tessera CALLS=10000 bash bench/refusals.sh
#
# Targets (ONLY picks some): proxy-flood (a new made-up well-formed token per call: 32 random
# bytes, so a forged keyed tag), proxy-missing (no token at all), broker-introspect-flood
# (introspection of a new made-up token per call; its commands include the client's
# authentication and rate limit, which every introspection pays).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/bench/lib.sh"

CALLS="${CALLS:-10000}"
CONNECTIONS="${CONNECTIONS:-16}"
ONLY="${ONLY:-proxy-flood proxy-missing broker-introspect-flood}"
bench_binary
bench_clean_env

bench_workdir refusals
start() { local name="$1"; shift; "$@" > "$WORK/$name.log" 2>&1 & PIDS+=("$!"); }
ready() { for _ in $(seq 300); do curl -s -m 2 -o /dev/null "$1" && return 0; sleep 0.1; done; die "$1 not ready"; }
want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }

# streams PORT: "entries bytes" of every analytics stream on that Redis.
streams() {
  local key entries=0 bytes=0 n b
  for key in $(redis-cli -p "$1" --scan --pattern '*analytics*'); do
    n="$(redis-cli -p "$1" xlen "$key")"; b="$(redis-cli -p "$1" memory usage "$key" samples 0)"
    entries=$((entries + n)); bytes=$((bytes + b))
  done
  echo "$entries $bytes"
}

# run NAME URL MODE REDIS_PORT: the row of one target.
run() {
  local name="$1" url="$2" mode="$3" port="$4" cmds s
  cmdstats "$port" "$WORK/$name.before"
  python3 bench/count.py "$url" "$CALLS" "$CONNECTIONS" "$mode" > "$WORK/$name.calls"
  xadd_settle "$port" 1 60
  cmdstats "$port" "$WORK/$name.after"
  cmds="$(cmd_delta "$WORK/$name.before" "$WORK/$name.after" all)"
  s="$(streams "$port")"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$CALLS" "$(per_call "$cmds" "$CALLS")" \
    "$(cmd_top "$WORK/$name.before" "$WORK/$name.after" 3)" "${s% *}" "${s#* }" \
    "$(awk -v b="${s#* }" -v c="$CALLS" 'BEGIN { printf "%.0f", b * 10000 / c }')"
}

# fresh_redis: a Redis of its own for one target; sets REDIS_PORT.
fresh_redis() {
  REDIS_PORT="$(free_port)"
  start "redis-$REDIS_PORT" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK"
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
  die "redis did not start"
}

ECHO_PORT="$(free_port)"
start echo "$BIN" echo --listen "127.0.0.1:$ECHO_PORT" --workers 1

echo "| target | calls | Redis commands / refused call | most frequent | stream entries | stream bytes | bytes / 10,000 calls |"
echo "|---|---:|---:|---|---:|---:|---:|"
for target in proxy-flood proxy-missing; do
  want "$target" || continue
  fresh_redis
  write_broker_config "$WORK/broker.toml" "$REDIS_PORT" # sets PEPPER for the proxy
  port="$(free_port)"; status="$(free_port)"
  write_proxy_config "$WORK/$target.toml" "$port" "url = \"redis://127.0.0.1:$REDIS_PORT\"" true true
  start "$target" "$BIN" proxy --config "$WORK/$target.toml" --status "127.0.0.1:$status"
  ready "http://127.0.0.1:$status/readyz"
  case "$target" in
    proxy-flood) mode=flood ;;
    *) mode="header:X-Nothing:none" ;;
  esac
  run "$target" "http://127.0.0.1:$port/api/bench" "$mode" "$REDIS_PORT"
done
if want broker-introspect-flood; then
  fresh_redis
  write_broker_config "$WORK/broker.toml" "$REDIS_PORT"
  start broker "$BIN" broker --config "$WORK/broker.toml"
  ready "$BASE/readyz"
  bench_app
  run broker-introspect-flood "$BASE/introspect" introspect-flood "$REDIS_PORT"
fi
