#!/usr/bin/env bash
# Benchmark (not a test): Tessera broker throughput against a same-run Redis baseline and a
# same-run yardstick (issue 11, P3/P4): bench/yardstick, a minimal actix-web token endpoint doing
# one constant-time Basic check and one Redis SET per token (one GET per introspection).
#
#   bash bench/broker.sh                 # 15 s per wrk run
#   DURATION=5 bash bench/broker.sh      # shorter smoke run
#
# Environment:
#   DURATION      seconds per wrk run (default 15)
#   CONNECTIONS   wrk / redis-benchmark connections (default 50)
#   REDIS_REQUESTS  redis-benchmark -n (default 200000)
#   SKIP_BUILD=1  use the existing release binaries (tessera; the yardstick is still built when
#                 missing) instead of running cargo build --release
#   BROKER_BIN    benchmark this tessera binary instead (implies no build)
#   YARDSTICK_BIN benchmark this yardstick binary instead (no build)
#   INTROSPECTION_CACHE=0  the broker's introspection cache off: every introspection reads the
#                 store (on by default: the one token introspected is answered from memory)
#   SETTLE        seconds to wait once both servers answer, before the first run (default 0):
#                 for 60 s after it subscribed (`limits.auth_failures_*.max_delay_secs`) the
#                 broker asks about every subject's back-off on each client authentication
#                 (ratelimit::suspects); SETTLE=65 measures its steady state
#
# Pinning: redis-server, the broker and the yardstick run on CPU 0 (`taskset -c 0`), one HTTP
# worker each; redis-benchmark and wrk run on CPU 1 (`taskset -c 1`). All traffic is to
# 127.0.0.1. See BENCHMARKS.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# free_port, random_chars, json_get, log, die, to_ms, cmdstats, cmd_delta, cmd_top
. "$ROOT/bench/lib.sh"

DURATION="${DURATION:-15}"
CONNECTIONS="${CONNECTIONS:-50}"
REDIS_REQUESTS="${REDIS_REQUESTS:-200000}"
INVOCATION="${BENCH_INVOCATION:-DURATION=$DURATION bash bench/broker.sh}"

case "$DURATION" in ''|*[!0-9]*) echo "DURATION must be a whole number of seconds" >&2; exit 2;; esac
[ "$DURATION" -ge 1 ] || { echo "DURATION must be at least 1" >&2; exit 2; }

# ---------------------------------------------------------------------------- prerequisites
need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
{ command -v redis-benchmark >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; } || need_apt+=(redis-tools)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v taskset >/dev/null 2>&1 || need_apt+=(util-linux)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v python3 >/dev/null 2>&1 || die "python3 is required (JSON parsing)"

NCPU="$(nproc)"
[ "$NCPU" -ge 2 ] || die "needs at least 2 CPUs (server on CPU 0, load generator on CPU 1); nproc=$NCPU"

# ---------------------------------------------------------------------------- cleanup
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")"
REDIS_PID=""
BROKER_PID=""
YARDSTICK_PID=""
cleanup() {
  local rc=$?
  for pid in "$YARDSTICK_PID" "$BROKER_PID" "$REDIS_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  done
  for pid in "$YARDSTICK_PID" "$BROKER_PID" "$REDIS_PID"; do
    if [ -n "$pid" ]; then
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ "$rc" -ne 0 ] && [ -z "${KEEP_WORK:-}" ]; then
    for f in broker.log yardstick.log redis.log; do
      if [ -s "$WORK/$f" ]; then
        printf -- '-- last lines of %s:\n' "$f" >&2
        tail -n 20 "$WORK/$f" >&2
      fi
    done
  fi
  if [ -n "${KEEP_WORK:-}" ]; then
    printf 'work directory kept: %s\n' "$WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------- build
if [ -n "${BROKER_BIN:-}" ]; then
  BIN="$BROKER_BIN"
else
  if [ -z "${SKIP_BUILD:-}" ]; then
    log "cargo build --release"
    cargo build --release
  fi
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera"
fi
[ -x "$BIN" ] || die "$BIN not found"
# The yardstick is its own workspace (bench/yardstick/Cargo.toml); built into the same target
# directory, so no second one appears.
if [ -n "${YARDSTICK_BIN:-}" ]; then
  YBIN="$YARDSTICK_BIN"
else
  YBIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera-yardstick"
  if [ -z "${SKIP_BUILD:-}" ] || [ ! -x "$YBIN" ]; then
    log "cargo build --release --locked --manifest-path bench/yardstick/Cargo.toml"
    cargo build --release --locked --manifest-path bench/yardstick/Cargo.toml --target-dir "${CARGO_TARGET_DIR:-$ROOT/target}"
  fi
fi
[ -x "$YBIN" ] || die "$YBIN not found"

# ---------------------------------------------------------------------------- redis
REDIS_PORT="$(free_port)"
log "redis-server on 127.0.0.1:$REDIS_PORT (CPU 0)"
taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  --daemonize no --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 100); do
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
  kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited at start-up"
  sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG || die "redis-server did not answer PING"

# ---------------------------------------------------------------------------- baseline
REDIS_CMD="taskset -c 1 redis-benchmark -h 127.0.0.1 -p $REDIS_PORT -t set,get -c $CONNECTIONS -n $REDIS_REQUESTS -q"
log "$REDIS_CMD"
# shellcheck disable=SC2086
$REDIS_CMD > "$WORK/redis-benchmark.raw" 2>&1 || { cat "$WORK/redis-benchmark.raw" >&2; die "redis-benchmark failed"; }
# -q rewrites a progress line with \r; keep the final lines only.
tr '\r' '\n' < "$WORK/redis-benchmark.raw" | grep -E '^(SET|GET): .*requests per second' > "$WORK/redis-benchmark.txt" || true
cat "$WORK/redis-benchmark.txt" >&2
redis_rps() { awk -v t="$1:" '$1 == t { print $2; exit }' "$WORK/redis-benchmark.txt"; }
redis_p50() { awk -v t="$1:" '$1 == t { if (match($0, /p50=[0-9.]+/)) print substr($0, RSTART + 4, RLENGTH - 4); exit }' "$WORK/redis-benchmark.txt"; }
SET_RPS="$(redis_rps SET)"; GET_RPS="$(redis_rps GET)"
SET_P50="$(redis_p50 SET)"; GET_P50="$(redis_p50 GET)"
[ -n "$SET_RPS" ] && [ -n "$GET_RPS" ] || die "could not parse redis-benchmark output: $(cat "$WORK/redis-benchmark.raw")"
# The broker gets an empty database (redis-benchmark leaves key:__rand_int__ etc. behind).
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushall >/dev/null

# ---------------------------------------------------------------------------- broker
# The built-in identity provider stands in for Okta (`--dev-idp` mounts it on the broker, under
# {issuer}/dev-idp, as its upstream), so user grants can be measured.
write_broker_config "$WORK/broker.toml" "$REDIS_PORT" "$(cat <<'TOML'
# The id_tokens apps receive are signed with a key made at start-up (development setting).
[id_token]
generate_key = true
TOML
)"
log "tessera broker on $BASE (CPU 0, 1 worker)"
# TESSERA_* variables from the caller's environment would override the file; drop them.
bench_clean_env
taskset -c 0 "$BIN" broker --dev-idp --config "$WORK/broker.toml" > "$WORK/broker.log" 2>&1 &
BROKER_PID=$!
ready=""
for _ in $(seq 300); do
  kill -0 "$BROKER_PID" 2>/dev/null || die "the broker exited at start-up"
  code="$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" || true)"
  if [ "$code" = "200" ]; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || die "GET /readyz did not answer 200 within 30 s (last: $code)"

broker_alive() { kill -0 "$BROKER_PID" 2>/dev/null || die "the broker died ($1)"; }

# ---------------------------------------------------------------------------- developer + app
admin_post() { # admin_post PATH JSON -> body in $WORK/resp.json, echoes HTTP status
  curl -s -o "$WORK/resp.json" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data "$2" "$BASE$1"
}
code="$(admin_post /admin/developers '{"email":"bench@example.com","first_name":"B","last_name":"B"}')"
[ "$code" = "201" ] || die "POST /admin/developers: HTTP $code: $(cat "$WORK/resp.json")"
DEV_ID="$(json_get 'd["id"]' < "$WORK/resp.json")"
BENCH_REDIRECT="http://127.0.0.1:9/cb"
export BENCH_REDIRECT
code="$(admin_post "/admin/developers/$DEV_ID/apps" "{\"name\":\"bench\",\"scopes\":[\"read\"],\"redirect_uris\":[\"$BENCH_REDIRECT\"],\"grant_types\":[\"client_credentials\",\"authorization_code\",\"refresh_token\",\"password\"]}")"
[ "$code" = "201" ] || die "POST /admin/developers/$DEV_ID/apps: HTTP $code: $(cat "$WORK/resp.json")"
CLIENT_ID="$(json_get 'd["credentials"][0]["client_id"]' < "$WORK/resp.json")"
CLIENT_SECRET="$(json_get 'd["credentials"][0]["client_secret"]' < "$WORK/resp.json")"
[ -n "$CLIENT_ID" ] && [ "$CLIENT_SECRET" != "None" ] || die "app has no credentials: $(cat "$WORK/resp.json")"
BENCH_BASIC_AUTH="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
export BENCH_BASIC_AUTH

# ---------------------------------------------------------------------------- wrk
FAILED=""
# run_wrk NAME SCRIPT PATH [BASE_URL] -> $WORK/NAME.txt, and $WORK/NAME.cmd: "requests
# redis-commands" (INFO commandstats delta over the run, every command but INFO)
run_wrk() {
  local name="$1" script="$2" path="$3" base="${4:-$BASE}" out="$WORK/$1.txt"
  local cmd="taskset -c 1 wrk -t1 -c$CONNECTIONS -d${RUN_DURATION:-$DURATION}s --latency -s $script $base$path"
  log "$cmd"
  cmdstats "$REDIS_PORT" "$WORK/cmd.before"
  # shellcheck disable=SC2086
  $cmd > "$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($name)"; }
  cmdstats "$REDIS_PORT" "$WORK/cmd.after"
  printf '%s %s %s\n' "$(awk '/ requests in / { print $1; exit }' "$out")" \
    "$(cmd_delta "$WORK/cmd.before" "$WORK/cmd.after" all)" "$(cmd_top "$WORK/cmd.before" "$WORK/cmd.after" 4)" > "$WORK/$name.cmd"
  cat "$out" >&2
  broker_alive "after the $name run"
  yardstick_alive "after the $name run"
  local bad
  bad="$(awk -F': ' '/^non-200 responses:/ { n += $2 } /^inactive responses:/ { n += $2 } END { print n + 0 }' "$out")"
  grep -q '^non-200 responses:' "$out" || { FAILED+="$name: wrk script did not report; "; }
  if [ "$bad" -gt 0 ]; then
    FAILED+="$name: $bad bad responses ($(grep -m1 '^first' "$out" || true)); "
    printf '\n!!! %s: %s bad responses — see above\n\n' "$name" "$bad" >&2
  fi
  if [ "$name" != redemption ] && awk -F': ' '/^starved requests:/ && $2 > 0 { found = 1 } END { exit !found }' "$out"; then
    FAILED+="$name: the script ran out of single-use tokens; "
  fi
  if grep -q 'Socket errors' "$out"; then
    FAILED+="$name: $(grep -m1 'Socket errors' "$out" | sed 's/^ *//'); "
  fi
  if [ "$name" != redemption ] && grep -q 'Non-2xx or 3xx responses' "$out"; then
    FAILED+="$name: $(grep -m1 'Non-2xx or 3xx responses' "$out" | sed 's/^ *//'); "
  fi
}
wrk_rps() { awk '/^Requests\/sec:/ { print $2; exit }' "$WORK/$1.txt"; }
wrk_pct() { awk -v p="$2%" '$1 == p { print $2; exit }' "$WORK/$1.txt"; }
# cmds_per_call NAME: Redis commands per request of the run (commands most used after it)
cmds_per_call() { awk '{ if ($1 > 0) printf "%.2f", $2 / $1; else printf "?" }' "$WORK/$1.cmd"; }
cmds_top() { awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); printf "%s%s %.2f", (i > 3 ? ", " : ""), toupper(kv[1]), ($1 > 0 ? kv[2] / $1 : 0) } }' "$WORK/$1.cmd"; }

# The yardstick (bench/yardstick): the same client credentials, the same Redis, one worker.
YARDSTICK_PORT="$(free_port)"
YBASE="http://127.0.0.1:$YARDSTICK_PORT"
log "yardstick on $YBASE (CPU 0, 1 worker)"
YARDSTICK_LISTEN="127.0.0.1:$YARDSTICK_PORT" YARDSTICK_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
  YARDSTICK_CLIENT_ID="$CLIENT_ID" YARDSTICK_CLIENT_SECRET="$CLIENT_SECRET" YARDSTICK_WORKERS=1 \
  taskset -c 0 "$YBIN" > "$WORK/yardstick.log" 2>&1 &
YARDSTICK_PID=$!
yardstick_alive() { kill -0 "$YARDSTICK_PID" 2>/dev/null || die "the yardstick died ($1)"; }
ready=""
for _ in $(seq 300); do
  yardstick_alive "at start-up"
  code="$(curl -s -o /dev/null -w '%{http_code}' -X POST --data 'grant_type=client_credentials' "$YBASE/token" || true)"
  if [ "$code" = "401" ]; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || die "the yardstick did not answer within 30 s (last: $code)"
case "${SETTLE:-0}" in ''|*[!0-9]*) die "SETTLE must be a whole number of seconds";; esac
[ "${SETTLE:-0}" -gt 0 ] && { log "waiting ${SETTLE} s (SETTLE: the broker's steady state)"; sleep "$SETTLE"; }

# mint_token BASE_URL NAME -> the access token, form-urlencoded, in BENCH_TOKEN (exported)
mint_token() {
  code="$(curl -s -o "$WORK/$2-token.json" -w '%{http_code}' -X POST -H "Authorization: $BENCH_BASIC_AUTH" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data 'grant_type=client_credentials' "$1/token")"
  [ "$code" = "200" ] || die "$2: POST /token: HTTP $code: $(cat "$WORK/$2-token.json")"
  BENCH_TOKEN="$(python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.load(sys.stdin)["access_token"], safe=""))' < "$WORK/$2-token.json")"
  export BENCH_TOKEN
  code="$(curl -s -o "$WORK/$2-introspect.json" -w '%{http_code}' -X POST -H "Authorization: $BENCH_BASIC_AUTH" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "token=$BENCH_TOKEN" "$1/introspect")"
  [ "$code" = "200" ] && grep -Eq '"active" *: *true' "$WORK/$2-introspect.json" \
    || die "$2: POST /introspect of a fresh token: HTTP $code: $(cat "$WORK/$2-introspect.json")"
}
mint_token "$YBASE" yardstick
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST -u "$CLIENT_ID:wrong" --data 'grant_type=client_credentials' "$YBASE/token")"
[ "$code" = "401" ] || die "yardstick: a wrong secret got HTTP $code (expected 401)"

run_wrk issuance bench/token.lua /token
KEYS_AFTER_ISSUANCE="$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" dbsize 2>/dev/null || echo '?')"
log "redis keys after issuance: $KEYS_AFTER_ISSUANCE ($(awk '/requests in/ { print $1; exit }' "$WORK/issuance.txt") requests sent)"

run_wrk yardstick-issuance bench/token.lua /token "$YBASE"

# One token for introspection, from each.
mint_token "$BASE" broker
BROKER_TOKEN="$BENCH_TOKEN"
run_wrk introspection bench/introspect.lua /introspect
mint_token "$YBASE" yardstick
YARDSTICK_TOKEN="$BENCH_TOKEN"
run_wrk yardstick-introspection bench/introspect.lua /introspect "$YBASE"

# Refresh rotation: one live refresh token per connection, from the password grant.
: > "$WORK/rts.txt"
# A quarter more than connections: wrk may build a request it never sends, losing its token.
for _ in $(seq $((CONNECTIONS + CONNECTIONS / 4))); do
  curl -s -X POST -H "Authorization: $BENCH_BASIC_AUTH" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data 'grant_type=password&username=alice&password=alice&scope=read' "$BASE/token" \
    | json_get 'd["refresh_token"]' >> "$WORK/rts.txt" || die "password grant failed"
done
BENCH_RT_FILE="$WORK/rts.txt"; export BENCH_RT_FILE
run_wrk refresh bench/refresh.lua /token

# Code redemption: codes are single-use and live 60 s, so a batch is made through the real
# login (authorize -> upstream form -> callback) and redeemed at once.
NCODES="${NCODES:-8000}"
log "generating $NCODES authorization codes through the login flow"
GEN_START=$(date +%s.%N)
python3 bench/codes.py "$BASE" "$CLIENT_ID" "$BENCH_REDIRECT" "$NCODES" > "$WORK/codes.txt" || die "code generation failed"
GEN_SECS=$(awk -v a="$GEN_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
log "generated $(wc -l < "$WORK/codes.txt") codes in ${GEN_SECS}s"
BENCH_CODES_FILE="$WORK/codes.txt"; export BENCH_CODES_FILE
RUN_DURATION=1 run_wrk redemption bench/redeem.lua /token

# ---------------------------------------------------------------------------- round trips
# INFO commandstats counts the commands Lua scripts run too; the round trips (commands clients
# sent) come from MONITOR, which marks script commands "[0 lua]", over RT_SAMPLE sequential
# requests made now, outside the measured runs (MONITOR slows Redis down).
RT_SAMPLE=200
round_trips() { # round_trips NAME URL BODY -> $WORK/NAME.rt: round trips per request
  local f="$WORK/$1.monitor" mpid
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" monitor > "$f" 2>&1 &
  mpid=$!
  sleep 0.3
  python3 - "$2" "$3" "$RT_SAMPLE" <<'PY' || { kill "$mpid" 2>/dev/null; die "round trips of $1: requests failed"; }
import http.client, os, sys, urllib.parse
url, body, n = urllib.parse.urlsplit(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
headers = {"Authorization": os.environ["BENCH_BASIC_AUTH"], "Content-Type": "application/x-www-form-urlencoded"}
for _ in range(n):
    c.request("POST", url.path, body, headers)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"HTTP {r.status}")
PY
  sleep 0.3
  kill "$mpid" 2>/dev/null || true
  wait "$mpid" 2>/dev/null || true
  awk -v n="$RT_SAMPLE" '/^[0-9.]+ \[[0-9]+ [0-9.:]+\] / && !/\] "(info|INFO)"/ { c++ } END { printf "%.2f", c / n }' "$f" > "$WORK/$1.rt"
}
log "Redis round trips per request (MONITOR over $RT_SAMPLE sequential requests each)"
round_trips issuance "$BASE/token" "grant_type=client_credentials"
round_trips yardstick-issuance "$YBASE/token" "grant_type=client_credentials"
round_trips introspection "$BASE/introspect" "token=$BROKER_TOKEN"
round_trips yardstick-introspection "$YBASE/introspect" "token=$YARDSTICK_TOKEN"
rt() { cat "$WORK/$1.rt" 2>/dev/null || echo "?"; }

# ---------------------------------------------------------------------------- report
ISS_RPS="$(wrk_rps issuance)"; INT_RPS="$(wrk_rps introspection)"; REF_RPS="$(wrk_rps refresh)"
REF_P50="$(to_ms "$(wrk_pct refresh 50)")"; REF_P99="$(to_ms "$(wrk_pct refresh 99)")"
RED_N="$(awk '/^redeemed:/ { print $2; exit }' "$WORK/redemption.txt")"
RED_S="$(awk '/^redeemed:/ { print $4; exit }' "$WORK/redemption.txt")"
RED_RPS="$(awk -v n="$RED_N" -v s="$RED_S" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print 0 }')"
RED_P50="$(to_ms "$(wrk_pct redemption 50)")"; RED_P99="$(to_ms "$(wrk_pct redemption 99)")"
ISS_P50="$(to_ms "$(wrk_pct issuance 50)")"; ISS_P99="$(to_ms "$(wrk_pct issuance 99)")"
INT_P50="$(to_ms "$(wrk_pct introspection 50)")"; INT_P99="$(to_ms "$(wrk_pct introspection 99)")"
YISS_RPS="$(wrk_rps yardstick-issuance)"; YINT_RPS="$(wrk_rps yardstick-introspection)"
YISS_P50="$(to_ms "$(wrk_pct yardstick-issuance 50)")"; YISS_P99="$(to_ms "$(wrk_pct yardstick-issuance 99)")"
YINT_P50="$(to_ms "$(wrk_pct yardstick-introspection 50)")"; YINT_P99="$(to_ms "$(wrk_pct yardstick-introspection 99)")"
[ -n "$ISS_RPS" ] && [ -n "$INT_RPS" ] && [ -n "$YISS_RPS" ] && [ -n "$YINT_RPS" ] || die "could not parse wrk output"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "?" }'; }
ISS_RATIO="$(ratio "$ISS_RPS" "$SET_RPS")"; INT_RATIO="$(ratio "$INT_RPS" "$GET_RPS")"
ISS_Y="$(ratio "$ISS_RPS" "$YISS_RPS")"; INT_Y="$(ratio "$INT_RPS" "$YINT_RPS")"
verdict() { awk -v r="$1" -v aim="$2" 'BEGIN { if (r == "?") print "?"; else if (r + 0 >= aim) print "meets"; else print "below" }'; }
fmt_rps() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }

COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null || true)" ]; then
  COMMIT="$COMMIT (working tree has uncommitted changes)"
fi
CPU_MODEL="$(lscpu | grep 'Model name' | sed 's/^Model name:[[:space:]]*//' | head -n1)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

REPORT="$WORK/report.md"
{
  printf '## Tessera broker benchmark — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  printf -- '- Machine: %s CPUs (nproc), %s, kernel %s\n' "$NCPU" "$CPU_MODEL" "$(uname -r)"
  printf -- '- Commit: %s\n' "$COMMIT"
  if [ -n "${BROKER_BIN:-}" ]; then
    printf -- '- Binary: %s (BROKER_BIN; not built from this checkout by the script)\n' "$BROKER_BIN"
  fi
  printf -- '- Command: `%s` (DURATION=%ss per wrk run)\n' "$INVOCATION" "$DURATION"
  printf -- '- Pinning: redis-server + broker (1 worker) + yardstick (1 worker) on CPU 0; redis-benchmark / wrk on CPU 1\n'
  printf -- '- Baseline: `%s`\n' "taskset -c 1 redis-benchmark -p PORT -t set,get -c $CONNECTIONS -n $REDIS_REQUESTS -q"
  printf -- '- Load: `%s`, the same for the broker and the yardstick\n' "taskset -c 1 wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -s bench/{token,introspect}.lua"
  printf -- '- Order: broker issuance, yardstick issuance, broker introspection, yardstick introspection, refresh, redemption\n'
  if [ "${INTROSPECTION_CACHE:-1}" = "0" ]; then
    printf -- '- Introspection cache: off (INTROSPECTION_CACHE=0): every introspection reads the token from Redis\n'
  else
    printf -- '- Introspection cache: on (the default): one token introspected over and over, every call after the first answered from memory (INTROSPECTION_CACHE=0 measures the store path)\n'
  fi
  printf '\n'
  printf '| workload | requests/s | p50 (ms) | p99 (ms) | Redis round trips / call | Redis commands executed / call | ratio |\n'
  printf '|---|---:|---:|---:|---:|---|---|\n'
  printf '| redis SET (redis-benchmark) | %s | %s | n/a | 1 | 1 | — |\n' "$(fmt_rps "$SET_RPS")" "${SET_P50:-n/a}"
  printf '| redis GET (redis-benchmark) | %s | %s | n/a | 1 | 1 | — |\n' "$(fmt_rps "$GET_RPS")" "${GET_P50:-n/a}"
  printf '| token issuance (client_credentials) | %s | %s | %s | %s | %s (%s) | %s of SET (aim ≥ 0.30: %s) |\n' \
    "$(fmt_rps "$ISS_RPS")" "$ISS_P50" "$ISS_P99" "$(rt issuance)" "$(cmds_per_call issuance)" "$(cmds_top issuance)" "$ISS_RATIO" "$(verdict "$ISS_RATIO" 0.30)"
  printf '| yardstick issuance (actix-web: Basic check + 1 SET) | %s | %s | %s | %s | %s (%s) | %s of SET |\n' \
    "$(fmt_rps "$YISS_RPS")" "$YISS_P50" "$YISS_P99" "$(rt yardstick-issuance)" "$(cmds_per_call yardstick-issuance)" "$(cmds_top yardstick-issuance)" "$(ratio "$YISS_RPS" "$SET_RPS")"
  printf '| introspection | %s | %s | %s | %s | %s (%s) | %s of GET (aim ≥ 0.35: %s) |\n' \
    "$(fmt_rps "$INT_RPS")" "$INT_P50" "$INT_P99" "$(rt introspection)" "$(cmds_per_call introspection)" "$(cmds_top introspection)" "$INT_RATIO" "$(verdict "$INT_RATIO" 0.35)"
  printf '| yardstick introspection (actix-web: Basic check + 1 GET) | %s | %s | %s | %s | %s (%s) | %s of GET |\n' \
    "$(fmt_rps "$YINT_RPS")" "$YINT_P50" "$YINT_P99" "$(rt yardstick-introspection)" "$(cmds_per_call yardstick-introspection)" "$(cmds_top yardstick-introspection)" "$(ratio "$YINT_RPS" "$GET_RPS")"
  printf '| refresh rotation (user token) | %s | %s | %s | — | %s (%s) | %s of issuance |\n' \
    "$(fmt_rps "$REF_RPS")" "$REF_P50" "$REF_P99" "$(cmds_per_call refresh)" "$(cmds_top refresh)" "$(ratio "$REF_RPS" "$ISS_RPS")"
  printf '| authorization-code redemption (%s codes in %s s) | %s | %s* | %s* | — | — | %s of issuance |\n' \
    "$RED_N" "$RED_S" "$(fmt_rps "$RED_RPS")" "$RED_P50" "$RED_P99" "$(ratio "$RED_RPS" "$ISS_RPS")"
  printf '| **issuance ÷ yardstick** (P3) | | | | | | **%s** (aim ≥ 1.0: %s) |\n' "$ISS_Y" "$(verdict "$ISS_Y" 1.0)"
  printf '| **introspection ÷ yardstick** (P4) | | | | | | **%s** (aim ≥ 1.0: %s) |\n' "$INT_Y" "$(verdict "$INT_Y" 1.0)"
  printf '\n'
  printf 'Redis round trips / call: commands clients sent per request (MONITOR, commands run inside scripts left out),\n'
  printf 'over %s sequential requests made after the runs. Redis commands executed / call: INFO commandstats delta over\n' "$RT_SAMPLE"
  printf 'the measured run (every command but INFO, those run by EVALSHA scripts included) ÷ requests, with the most\n'
  printf 'frequent. The yardstick runs against the same Redis with the same client credentials.\n\n'
  printf 'Codes were made through the real login in %ss before the redemption run (codes live ≤ 60 s,\n' "$GEN_SECS"
  printf 'so the batch is redeemed in about half a second; throughput is timed over that window).\n'
  printf '*Redemption percentiles are wrk'"'"'s over the 1 s run, which after the batch ran out also holds\n'
  printf 'fast rejections of an exhausted marker: read them as indicative, the refresh row as the steady state.\n\n'

  printf 'redis-benchmark -q reports p50 only, so redis p99 is n/a. Redis keys after the issuance run: %s.\n' "$KEYS_AFTER_ISSUANCE"
  if [ -n "$FAILED" ]; then
    printf '\n**ERRORS — these figures are not valid:** %s\n' "$FAILED"
  fi
  printf '\n'
} > "$REPORT"

mkdir -p bench/out
OUT="bench/out/broker-$STAMP.md"
cat "$REPORT" >> "$OUT"
printf '\n'
cat "$REPORT"
printf 'Appended to %s\n' "$OUT"

if [ -n "$FAILED" ]; then
  printf '\nFAILED: %s\n' "$FAILED" >&2
  exit 1
fi
