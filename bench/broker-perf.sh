#!/usr/bin/env bash
# Benchmark helper (not a test): a NATIVE profile of the broker's issuance and introspection and of
# the yardstick's (bench/yardstick), by `perf record -e cpu-clock` (software sampling: works in a
# VM without hardware counters). Self-time shares per symbol are meaningful on a busy machine,
# requests/s are not (issue 11, P3/P4).
#
#   bash bench/broker-perf.sh                         # this checkout's release binary
#   TESSERA_BIN=/tmp/old/tessera DURATION=10 bash bench/broker-perf.sh
#
# Redis, the broker and the yardstick run on CPU 0 (one HTTP worker each), wrk on CPU 1 (-t1,
# CONNECTIONS connections, DURATION seconds, 127.0.0.1 only). For each of broker-token,
# broker-introspect, yardstick-token, yardstick-introspect: `perf record -e cpu-clock -F 2999 -p
# PID` for the run, then the TOP symbols by self time (`perf report --no-children --sort symbol`)
# into $OUT/NAME.txt (OUT defaults to a temporary directory, printed). YARDSTICK_BIN picks the
# yardstick (default target/release/tessera-yardstick); SETTLE, below. Needs perf and wrk.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/bench/lib.sh"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
TOP="${TOP:-40}"
bench_binary
YBIN="${YARDSTICK_BIN:-$ROOT/target/release/tessera-yardstick}"
[ -x "$YBIN" ] || die "no yardstick at $YBIN (bash bench/broker.sh builds it)"
command -v perf >/dev/null || die "perf is needed (apt-get install linux-perf)"
command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"
bench_clean_env

bench_workdir broker-perf
OUT="${OUT:-$WORK/out}"
mkdir -p "$OUT"
start() { local name="$1"; shift; "$@" > "$WORK/$name.log" 2>&1 & STARTED_PID=$!; PIDS+=("$STARTED_PID"); }

REDIS_PORT="$(free_port)"
start redis taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK"
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
write_broker_config "$WORK/broker.toml" "$REDIS_PORT" '[tokens]
access_token_ttl_secs = 3600'
start broker taskset -c 0 "$BIN" broker --config "$WORK/broker.toml"
BROKER_PID=$STARTED_PID
wait_ready 200 "$BASE/readyz"
bench_app

YPORT="$(free_port)"
YBASE="http://127.0.0.1:$YPORT"
YARDSTICK_LISTEN="127.0.0.1:$YPORT" YARDSTICK_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
  YARDSTICK_CLIENT_ID="$CLIENT_ID" YARDSTICK_CLIENT_SECRET="$CLIENT_SECRET" YARDSTICK_WORKERS=1 \
  start yardstick taskset -c 0 "$YBIN"
YS_PID=$STARTED_PID
for _ in $(seq 300); do curl -s -o /dev/null "$YBASE/" && break; sleep 0.1; done

token_of() { # token_of BASE: a fresh access token, form-urlencoded
  curl -s -X POST -H "Authorization: $BENCH_BASIC_AUTH" --data grant_type=client_credentials "$1/token" \
    | python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.load(sys.stdin)["access_token"], safe=""))'
}

# profile NAME PID SCRIPT URL
profile() {
  local name="$1" pid="$2" script="$3" url="$4"
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -s "$script" "$url" > /dev/null # warm-up
  perf record -q -e cpu-clock -F 2999 -p "$pid" -o "$OUT/$name.data" -- sleep "$DURATION" 2> /dev/null &
  local perf_pid=$!
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$script" "$url" > "$OUT/$name.wrk" 2>&1
  wait "$perf_pid" || true
  local requests samples
  requests="$(awk '/ requests in / { print $1; exit }' "$OUT/$name.wrk")"
  samples="$(perf report -i "$OUT/$name.data" --stdio -n --sort dso 2> /dev/null | awk '/^ +[0-9.]+%/ { n += $2 } END { print n + 0 }')"
  {
    printf '%s: %s; %s requests, %s samples: %s µs of CPU per request\n' "$name" \
      "$(awk '/^Requests\/sec:/ { print $2 " req/s" } /^non-200/ { print }' "$OUT/$name.wrk" | paste -sd' ')" \
      "$requests" "$samples" "$(awk -v s="$samples" -v r="$requests" 'BEGIN { printf "%.1f", s * 1e6 / 2999 / r }')"
    perf report -i "$OUT/$name.data" --no-children --stdio --sort dso 2> /dev/null \
      | awk '/^ +[0-9.]+%/ { sub(/[ -]+$/, ""); printf "  by object:%s\n", $0 }'
    perf report -i "$OUT/$name.data" --no-children --stdio --sort symbol 2> /dev/null \
      | awk -v top="$TOP" '/^ +[0-9.]+%/ && n++ < top { sub(/[ -]+$/, ""); print }'
  } > "$OUT/$name.txt"
  cat "$OUT/$name.txt"
}

# SETTLE=SECS waits that long before profiling: past `limits.auth_failures_*.max_delay_secs`
# (60 s by default) after the broker subscribed, client authentication stops asking about every
# subject's back-off (ratelimit::suspects), which is the broker's steady state.
[ "${SETTLE:-0}" -gt 0 ] && { log "waiting ${SETTLE} s (SETTLE)"; sleep "$SETTLE"; }
profile broker-token "$BROKER_PID" bench/token.lua "$BASE/token"
BENCH_TOKEN="$(token_of "$BASE")" profile broker-introspect "$BROKER_PID" bench/introspect.lua "$BASE/introspect"
profile yardstick-token "$YS_PID" bench/token.lua "$YBASE/token"
BENCH_TOKEN="$(token_of "$YBASE")" profile yardstick-introspect "$YS_PID" bench/introspect.lua "$YBASE/introspect"
echo "profiles in $OUT" >&2
