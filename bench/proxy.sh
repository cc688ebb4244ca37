#!/usr/bin/env bash
# Benchmark (not a test): the Tessera proxy against one plain nginx hop, in the same run.
#
#   bash bench/proxy.sh                  # 10 s per measured wrk run (about 3 minutes + build)
#   DURATION=5 bash bench/proxy.sh       # shorter smoke run
#
# Targets, all in front of the same echo backend (`tessera echo`), all sent the same request
# (`GET /api/bench` with `Authorization: Bearer <valid token>`) with the same wrk settings:
#   echo direct | nginx proxy_pass (tuned: HTTP/1.1 + keepalive pool) | Tessera proxy with the
#   token cache (analytics on) | Tessera without the cache | Tessera with the cache, analytics
#   off | nginx proxy_pass with its defaults.
# Then memory: NTOKENS distinct tokens are minted through the broker and driven once each
# through the cached proxy; its VmRSS is read before and after (BENCHMARKS.md, "Proxy").
#
# Environment:
#   DURATION      seconds per measured wrk run (default 10)
#   WARMUP        seconds of the unmeasured wrk run before each measured one (default 3)
#   CONNECTIONS   wrk connections (default 32)
#   NTOKENS       distinct tokens for the memory measurement (default 100000; 0 skips it)
#   PERF          0: no perf profile of the proxy (default: profile if `perf` works)
#   PERF_SECS     seconds of `perf record` during an extra warm-cache run (default 5)
#   SKIP_BUILD=1  use the existing release binary instead of running cargo build --release
#   TESSERA_BIN   benchmark this tessera binary instead (implies no build)
#   KEEP_WORK=1   keep the temporary directory (configs, logs, raw wrk output, perf.data)
#
# Pinning: every server (redis-server, broker, echo backend, nginx, the proxies) on CPU 0
# (`taskset -c 0`, one worker each); wrk (and perf) on CPU 1. All traffic is to 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
NTOKENS="${NTOKENS:-100000}"
PERF_SECS="${PERF_SECS:-5}"
INVOCATION="${BENCH_INVOCATION:-DURATION=$DURATION bash bench/proxy.sh}"

for v in DURATION WARMUP CONNECTIONS NTOKENS PERF_SECS; do
  case "${!v}" in ''|*[!0-9]*) echo "$v must be a whole number" >&2; exit 2;; esac
done
[ "$DURATION" -ge 1 ] && [ "$CONNECTIONS" -ge 1 ] || { echo "DURATION and CONNECTIONS must be at least 1" >&2; exit 2; }

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/proxy.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------- prerequisites
need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v taskset >/dev/null 2>&1 || need_apt+=(util-linux)
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || need_apt+=(nginx)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v python3 >/dev/null 2>&1 || die "python3 is required (JSON parsing)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

NCPU="$(nproc)"
[ "$NCPU" -ge 2 ] || die "needs at least 2 CPUs (servers on CPU 0, load generator on CPU 1); nproc=$NCPU"

# ---------------------------------------------------------------------------- cleanup
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tessera-proxy-bench.XXXXXX")"
PIDS=()      # every process this script started, in start order; stopped in reverse
WRK_PID=""   # a wrk running in the background (perf run, memory passes)
cleanup() {
  local rc=$?
  local i pid
  if [ -n "$WRK_PID" ] && kill -0 "$WRK_PID" 2>/dev/null; then kill -INT "$WRK_PID" 2>/dev/null || true; fi
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid="${PIDS[$i]}"
    kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null || true
  done
  for pid in "$WRK_PID" "${PIDS[@]}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ -z "${KEEP_WORK:-}" ]; then
    for f in "$WORK"/*.log "$WORK"/nginx/error.log; do
      if [ -s "$f" ]; then
        printf -- '-- last lines of %s:\n' "$(basename "$f")" >&2
        tail -n 15 "$f" >&2
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

# free_port, random_chars, json_get, to_ms
. "$ROOT/bench/lib.sh"
# CPU time (user + system, all threads) of a process, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
CLK_TCK="$(getconf CLK_TCK)"

# start NAME CMD... : runs CMD pinned to CPU 0, output in $WORK/NAME.log; sets STARTED_PID.
start() {
  local name="$1"; shift
  taskset -c 0 "$@" > "$WORK/$name.log" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}
# wait_for NAME PID URL [GREP]: until URL answers 200 (and its body matches GREP), 30 s at most.
wait_for() {
  local name="$1" pid="$2" url="$3" pattern="${4:-}" code=""
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || die "$name exited at start-up"
    code="$(curl -s -m 10 -o "$WORK/ready.out" -w '%{http_code}' "$url" || true)"
    if [ "$code" = "200" ] && { [ -z "$pattern" ] || grep -Eq "$pattern" "$WORK/ready.out"; }; then
      return 0
    fi
    sleep 0.1
  done
  die "$name: $url did not become ready within 30 s (last: HTTP $code $(cat "$WORK/ready.out" 2>/dev/null))"
}
alive() { kill -0 "$2" 2>/dev/null || die "$1 died ($3)"; }

# ---------------------------------------------------------------------------- build
if [ -n "${TESSERA_BIN:-}" ]; then
  BIN="$TESSERA_BIN"
else
  if [ -z "${SKIP_BUILD:-}" ]; then
    log "cargo build --release"
    cargo build --release
  fi
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera"
fi
[ -x "$BIN" ] || die "$BIN not found"
# TESSERA_* variables from the caller's environment would override the files; drop them.
while IFS= read -r v; do unset "$v"; done < <(env | awk -F= '/^TESSERA_/ { print $1 }')

# ---------------------------------------------------------------------------- redis + broker
REDIS_PORT="$(free_port)"
log "redis-server on 127.0.0.1:$REDIS_PORT (CPU 0)"
start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  --daemonize no --dir "$WORK"
REDIS_PID=$STARTED_PID
for _ in $(seq 100); do
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
  alive redis-server "$REDIS_PID" "at start-up"
  sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG || die "redis-server did not answer PING"

write_broker_config "$WORK/broker.toml" "$REDIS_PORT" "$(cat <<'TOML'
# An hour: the tokens minted for the run outlive it (and the proxy's cache TTL).
[tokens]
access_token_ttl_secs = 3600
TOML
)"
log "tessera broker on $BASE (CPU 0, 1 worker)"
start broker "$BIN" broker --config "$WORK/broker.toml"
BROKER_PID=$STARTED_PID
wait_for broker "$BROKER_PID" "$BASE/readyz"

admin_post() { # admin_post PATH JSON -> body in $WORK/resp.json, echoes HTTP status
  curl -s -m 10 -o "$WORK/resp.json" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data "$2" "$BASE$1"
}
code="$(admin_post /admin/developers '{"email":"bench@example.com","first_name":"B","last_name":"B"}')"
[ "$code" = "201" ] || die "POST /admin/developers: HTTP $code: $(cat "$WORK/resp.json")"
DEV_ID="$(json_get 'd["id"]' < "$WORK/resp.json")"
code="$(admin_post "/admin/developers/$DEV_ID/apps" '{"name":"bench","scopes":["read"],"grant_types":["client_credentials"]}')"
[ "$code" = "201" ] || die "POST /admin/developers/$DEV_ID/apps: HTTP $code: $(cat "$WORK/resp.json")"
CLIENT_ID="$(json_get 'd["credentials"][0]["client_id"]' < "$WORK/resp.json")"
CLIENT_SECRET="$(json_get 'd["credentials"][0]["client_secret"]' < "$WORK/resp.json")"
[ -n "$CLIENT_ID" ] && [ "$CLIENT_SECRET" != "None" ] || die "app has no credentials: $(cat "$WORK/resp.json")"
BENCH_BASIC_AUTH="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
export BENCH_BASIC_AUTH

code="$(curl -s -m 10 -o "$WORK/token.json" -w '%{http_code}' -X POST -H "Authorization: $BENCH_BASIC_AUTH" \
  -H 'Content-Type: application/x-www-form-urlencoded' --data 'grant_type=client_credentials' "$BASE/token")"
[ "$code" = "200" ] || die "POST /token: HTTP $code: $(cat "$WORK/token.json")"
TOKEN="$(json_get 'd["access_token"]' < "$WORK/token.json")"
AUTH_HEADER="Authorization: Bearer $TOKEN"

# ---------------------------------------------------------------------------- echo backend
ECHO_PORT="$(free_port)"
log "echo backend on 127.0.0.1:$ECHO_PORT (CPU 0, 1 worker)"
start echo "$BIN" echo --listen "127.0.0.1:$ECHO_PORT" --workers 1
ECHO_PID=$STARTED_PID
wait_for "echo backend" "$ECHO_PID" "http://127.0.0.1:$ECHO_PORT/api/bench"

# ---------------------------------------------------------------------------- nginx
NGINX_PORT="$(free_port)"
NGINX_PLAIN_PORT="$(free_port)"
NGX="$WORK/nginx"
mkdir -p "$NGX"
NGX_USER=""
[ "$(id -u)" -eq 0 ] && NGX_USER="user root;"
sed -e "s|@USER@|$NGX_USER|" -e "s|@PREFIX@|$NGX|g" -e "s|@TUNED_PORT@|$NGINX_PORT|" \
  -e "s|@PLAIN_PORT@|$NGINX_PLAIN_PORT|" -e "s|@ECHO_PORT@|$ECHO_PORT|g" \
  bench/nginx.conf.template > "$NGX/nginx.conf"
"$NGINX" -t -q -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" > "$WORK/nginx-t.log" 2>&1 \
  || { cat "$WORK/nginx-t.log" >&2; die "nginx -t refused the generated configuration"; }
log "nginx $("$NGINX" -v 2>&1 | sed 's|.*/||') on 127.0.0.1:$NGINX_PORT (tuned) and :$NGINX_PLAIN_PORT (defaults) (CPU 0, 1 worker)"
start nginx "$NGINX" -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf"
NGINX_PID=$STARTED_PID
wait_for nginx "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT/api/bench"
NGINX_WORKER_PID="$(pgrep -P "$NGINX_PID" | head -n1 || true)"
[ -n "$NGINX_WORKER_PID" ] || die "nginx has no worker process"

# ---------------------------------------------------------------------------- Tessera proxies

# start_proxy NAME CACHE ANALYTICS -> sets PROXY_PORT / PROXY_STATUS / PROXY_PID
start_proxy() {
  local name="$1" cache="$2" analytics="$3"
  PROXY_PORT="$(free_port)"
  PROXY_STATUS="$(free_port)"
  cat > "$WORK/$name.toml" <<EOF
[server]
listen = "127.0.0.1:$PROXY_PORT"
workers = 1

[store]
url = "redis://127.0.0.1:$REDIS_PORT"

[security]
pepper = "$PEPPER"

[cache]
enabled = $cache
max_entries = 200000
max_ttl_secs = 3600

[analytics]
enabled = $analytics

[log]
level = "warn"

[[routes]]
name = "bench"
path = "/api"
upstream = "http://127.0.0.1:$ECHO_PORT/api"

[routes.auth]
kind = "tessera"
EOF
  log "tessera proxy '$name' on 127.0.0.1:$PROXY_PORT, status :$PROXY_STATUS (cache $cache, analytics $analytics; CPU 0, 1 worker)"
  start "$name" "$BIN" proxy --config "$WORK/$name.toml" --status "127.0.0.1:$PROXY_STATUS"
  PROXY_PID=$STARTED_PID
  # The cache is only used once the revocation channel is subscribed.
  wait_for "proxy $name" "$PROXY_PID" "http://127.0.0.1:$PROXY_STATUS/readyz" '"revocation_channel": *true'
}
start_proxy tessera-cache true true
CACHE_PORT=$PROXY_PORT; CACHE_STATUS=$PROXY_STATUS; CACHE_PID=$PROXY_PID
start_proxy tessera-nocache false true
NOCACHE_PORT=$PROXY_PORT; NOCACHE_STATUS=$PROXY_STATUS; NOCACHE_PID=$PROXY_PID
start_proxy tessera-cache-noanalytics true false
NOAN_PORT=$PROXY_PORT; NOAN_STATUS=$PROXY_STATUS; NOAN_PID=$PROXY_PID
RSS_IDLE="$(rss_kib "$CACHE_PID")"

metric() { # metric STATUS_PORT NAME -> value (0 when absent)
  curl -s -m 10 "http://127.0.0.1:$1/metrics" | awk -v n="tessera_proxy_$2" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }'
}

# ---------------------------------------------------------------------------- sanity
URL_PATH="/api/bench"
check_target() { # check_target NAME URL: 200 with the token, and the backend saw the call
  local code
  code="$(curl -s -m 10 -o "$WORK/check.json" -w '%{http_code}' -H "$AUTH_HEADER" "$2")"
  [ "$code" = "200" ] || die "$1: GET $2 with the token: HTTP $code: $(head -c 300 "$WORK/check.json")"
  grep -q '"path":"/api/bench"' "$WORK/check.json" || die "$1: unexpected answer: $(head -c 300 "$WORK/check.json")"
}
check_target "echo" "http://127.0.0.1:$ECHO_PORT$URL_PATH"
check_target "nginx" "http://127.0.0.1:$NGINX_PORT$URL_PATH"
check_target "nginx defaults" "http://127.0.0.1:$NGINX_PLAIN_PORT$URL_PATH"
for p in "$CACHE_PORT" "$NOCACHE_PORT" "$NOAN_PORT"; do
  check_target "tessera :$p" "http://127.0.0.1:$p$URL_PATH"
  grep -q "x-tessera-client-id" "$WORK/check.json" || die "tessera :$p did not forward the caller: $(head -c 300 "$WORK/check.json")"
  code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p$URL_PATH")"
  [ "$code" = "401" ] || die "tessera :$p without a token: HTTP $code (expected 401)"
  code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN%?}x" "http://127.0.0.1:$p$URL_PATH")"
  [ "$code" = "401" ] || die "tessera :$p with a wrong token: HTTP $code (expected 401)"
done

# ---------------------------------------------------------------------------- throughput
FAILED=""
WRK_ARGS=(-t1 "-c$CONNECTIONS" --latency -H "$AUTH_HEADER")
# run_wrk NAME URL "PID[:label] ..." -> $WORK/NAME.txt, CPU shares in $WORK/NAME.cpu
run_wrk() {
  local name="$1" url="$2" procs="$3" out="$WORK/$1.txt"
  local p pid before=() i
  if [ "$WARMUP" -gt 0 ]; then
    taskset -c 1 wrk "${WRK_ARGS[@]}" "-d${WARMUP}s" "$url" > "$WORK/$name.warmup.txt" 2>&1 \
      || { cat "$WORK/$name.warmup.txt" >&2; die "wrk warm-up failed ($name)"; }
  fi
  for p in $procs; do before+=("$(cpu_ticks "${p%%:*}")"); done
  log "taskset -c 1 wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -H 'Authorization: Bearer …' $url"
  taskset -c 1 wrk "${WRK_ARGS[@]}" "-d${DURATION}s" "$url" > "$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed ($name)"; }
  i=0; : > "$WORK/$name.cpu"
  for p in $procs; do
    pid="${p%%:*}"
    awk -v a="${before[$i]}" -v b="$(cpu_ticks "$pid")" -v hz="$CLK_TCK" -v d="$DURATION" -v l="${p#*:}" \
      'BEGIN { printf "%s %.0f%%\n", l, 100 * (b - a) / hz / d }' >> "$WORK/$name.cpu"
    alive "$name process ${p#*:}" "$pid" "after the $name run"
    i=$((i + 1))
  done
  sed 's/^/    /' "$out" >&2
  sed 's/^/    CPU 0: /' "$WORK/$name.cpu" >&2
  if grep -q 'Socket errors' "$out"; then
    FAILED+="$name: $(grep -m1 'Socket errors' "$out" | sed 's/^ *//'); "
  fi
  if grep -q 'Non-2xx or 3xx responses' "$out"; then
    FAILED+="$name: $(grep -m1 'Non-2xx or 3xx responses' "$out" | sed 's/^ *//'); "
  fi
}
wrk_rps() { awk '/^Requests\/sec:/ { print $2; exit }' "$WORK/$1.txt"; }
wrk_pct() { to_ms "$(awk -v p="$2%" '$1 == p { print $2; exit }' "$WORK/$1.txt")"; }
cpu_of() { tr '\n' ' ' < "$WORK/$1.cpu" | sed 's/ $//'; }

ECHO_URL="http://127.0.0.1:$ECHO_PORT$URL_PATH"
run_wrk echo "$ECHO_URL" "$ECHO_PID:echo"
run_wrk nginx "http://127.0.0.1:$NGINX_PORT$URL_PATH" "$NGINX_WORKER_PID:nginx $ECHO_PID:echo"
H0="$(metric "$CACHE_STATUS" token_cache_hits_total)"; M0="$(metric "$CACHE_STATUS" token_cache_misses_total)"
run_wrk tessera-cache "http://127.0.0.1:$CACHE_PORT$URL_PATH" "$CACHE_PID:proxy $ECHO_PID:echo $REDIS_PID:redis"
H1="$(metric "$CACHE_STATUS" token_cache_hits_total)"; M1="$(metric "$CACHE_STATUS" token_cache_misses_total)"
CACHE_HITS_RUN=$(( ${H1%.*} - ${H0%.*} )); CACHE_MISSES_RUN=$(( ${M1%.*} - ${M0%.*} ))
[ "$CACHE_HITS_RUN" -gt 0 ] || FAILED+="tessera-cache: no cache hits during the run; "
NM0="$(metric "$NOCACHE_STATUS" token_cache_misses_total)"
run_wrk tessera-nocache "http://127.0.0.1:$NOCACHE_PORT$URL_PATH" "$NOCACHE_PID:proxy $ECHO_PID:echo $REDIS_PID:redis"
NM1="$(metric "$NOCACHE_STATUS" token_cache_misses_total)"
NOCACHE_LOOKUPS_RUN=$(( ${NM1%.*} - ${NM0%.*} ))
run_wrk tessera-noanalytics "http://127.0.0.1:$NOAN_PORT$URL_PATH" "$NOAN_PID:proxy $ECHO_PID:echo $REDIS_PID:redis"
# Last: a new backend connection per call leaves TIME_WAIT sockets behind.
run_wrk nginx-defaults "http://127.0.0.1:$NGINX_PLAIN_PORT$URL_PATH" "$NGINX_WORKER_PID:nginx $ECHO_PID:echo"

# ---------------------------------------------------------------------------- perf
PERF_TOP=""
# perf report pads every line to the terminal width and ends it with empty columns.
perf_trim() { sed -E 's/([[:space:]]+-)*[[:space:]]*$//; s/^ {4}//'; }
if [ "${PERF:-1}" != "0" ] && command -v perf >/dev/null 2>&1; then
  log "perf record -g on the cached proxy (pid $CACHE_PID) for ${PERF_SECS}s under the same load"
  taskset -c 1 wrk "${WRK_ARGS[@]}" "-d$((PERF_SECS + 2))s" "http://127.0.0.1:$CACHE_PORT$URL_PATH" > "$WORK/perf-wrk.txt" 2>&1 &
  WRK_PID=$!
  sleep 1
  if taskset -c 1 perf record -q -g -p "$CACHE_PID" -o "$WORK/perf.data" -- sleep "$PERF_SECS" > "$WORK/perf.log" 2>&1; then
    perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
      | grep -E '^ +[0-9]+\.[0-9]+%' | head -n 25 | perf_trim > "$WORK/perf-top.txt" || true
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null \
      | grep -E '^ +[0-9]+\.[0-9]+%' | head -n 8 | perf_trim > "$WORK/perf-dso.txt" || true
    PERF_TOP="$(cat "$WORK/perf-top.txt")"
  else
    log "perf record failed (skipped): $(tail -n 3 "$WORK/perf.log")"
  fi
  wait "$WRK_PID" || true
  WRK_PID=""
  alive "proxy tessera-cache" "$CACHE_PID" "after perf"
fi

# ---------------------------------------------------------------------------- memory
RSS_BEFORE="$(rss_kib "$CACHE_PID")"
MEM_DONE=""
# wrk_until NAME SCRIPT URL DONE_FILE: runs wrk (at most 120 s) until the script creates DONE_FILE.
wrk_until() {
  local name="$1" script="$2" url="$3" done_file="$4" t0
  t0="$(date +%s.%N)"
  taskset -c 1 wrk -t1 "-c$CONNECTIONS" -d120s -s "$script" "$url" > "$WORK/$name.txt" 2>&1 &
  WRK_PID=$!
  while kill -0 "$WRK_PID" 2>/dev/null && [ ! -e "$done_file" ]; do sleep 0.05; done
  kill -INT "$WRK_PID" 2>/dev/null || true
  wait "$WRK_PID" || true
  WRK_PID=""
  SECS="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  [ -e "$done_file" ] || { cat "$WORK/$name.txt" >&2; die "$name did not finish within 120 s"; }
  local bad
  bad="$(awk -F': ' '/^non-200 responses:/ { print $2 }' "$WORK/$name.txt")"
  [ "${bad:-x}" = "0" ] || { cat "$WORK/$name.txt" >&2; die "$name: non-200 responses ($bad)"; }
}
if [ "$NTOKENS" -gt 0 ]; then
  export BENCH_TOKEN_FILE="$WORK/tokens.txt" BENCH_MINT_COUNT="$NTOKENS"
  log "minting $NTOKENS tokens (client_credentials) through the broker"
  wrk_until mint bench/mint.lua "$BASE/token" "$BENCH_TOKEN_FILE.done"
  MINT_SECS="$SECS"
  DISTINCT="$(sort -u "$BENCH_TOKEN_FILE" | wc -l)"
  [ "$DISTINCT" -eq "$NTOKENS" ] || die "minted $DISTINCT distinct tokens, expected $NTOKENS"
  log "$DISTINCT distinct tokens in ${MINT_SECS}s"

  drive() { # drive NAME: every token once through the cached proxy
    rm -f "$WORK/$1.done"
    BENCH_DONE_FILE="$WORK/$1.done" BENCH_PATH="$URL_PATH" \
      wrk_until "$1" bench/drive.lua "http://127.0.0.1:$CACHE_PORT" "$WORK/$1.done"
  }
  h0="$(metric "$CACHE_STATUS" token_cache_hits_total)"; m0="$(metric "$CACHE_STATUS" token_cache_misses_total)"
  log "filling the proxy's cache: each token once through the proxy"
  drive fill
  FILL_SECS="$SECS"
  h1="$(metric "$CACHE_STATUS" token_cache_hits_total)"; m1="$(metric "$CACHE_STATUS" token_cache_misses_total)"
  FILL_MISSES=$(( ${m1%.*} - ${m0%.*} )); FILL_HITS=$(( ${h1%.*} - ${h0%.*} ))
  sleep 1
  RSS_FILLED="$(rss_kib "$CACHE_PID")"
  log "fill: $FILL_MISSES misses, $FILL_HITS hits in ${FILL_SECS}s; VmRSS $(mib "$RSS_FILLED") MiB"
  log "second pass: every token again, each should be a cache hit"
  drive again
  AGAIN_SECS="$SECS"
  h2="$(metric "$CACHE_STATUS" token_cache_hits_total)"; m2="$(metric "$CACHE_STATUS" token_cache_misses_total)"
  AGAIN_MISSES=$(( ${m2%.*} - ${m1%.*} )); AGAIN_HITS=$(( ${h2%.*} - ${h1%.*} ))
  RSS_AGAIN="$(rss_kib "$CACHE_PID")"
  HWM="$(hwm_kib "$CACHE_PID")"
  log "second pass: $AGAIN_MISSES misses, $AGAIN_HITS hits in ${AGAIN_SECS}s; VmRSS $(mib "$RSS_AGAIN") MiB"
  [ "$FILL_MISSES" -ge "$NTOKENS" ] || FAILED+="memory: only $FILL_MISSES cache misses while filling $NTOKENS tokens; "
  [ "$AGAIN_MISSES" -le $((NTOKENS / 100)) ] || FAILED+="memory: $AGAIN_MISSES misses on the second pass (the cache does not hold the tokens); "
  MEM_DONE=1
fi

# ---------------------------------------------------------------------------- report
NGINX_RPS="$(wrk_rps nginx)"; NGINX_P99="$(wrk_pct nginx 99)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "?" }'; }
delta() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
fmt_rps() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
row() { # row NAME LABEL
  local rps p50 p99
  rps="$(wrk_rps "$1")"; p50="$(wrk_pct "$1" 50)"; p99="$(wrk_pct "$1" 99)"
  [ -n "$rps" ] || die "could not parse wrk output ($1)"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$(fmt_rps "$rps")" "$p50" "$p99" \
    "$(ratio "$rps" "$NGINX_RPS")" "$(delta "$p99" "$NGINX_P99")" "$(cpu_of "$1")"
}
verdict() { # verdict VALUE OP AIM
  awk -v v="$1" -v op="$2" -v aim="$3" 'BEGIN {
    ok = (op == ">=") ? (v + 0 >= aim + 0) : (v + 0 <= aim + 0)
    print (ok ? "met" : "missed")
  }'
}
C_RATIO="$(ratio "$(wrk_rps tessera-cache)" "$NGINX_RPS")"
C_DP99="$(delta "$(wrk_pct tessera-cache 99)" "$NGINX_P99")"
N_RATIO="$(ratio "$(wrk_rps tessera-nocache)" "$NGINX_RPS")"

COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null || true)" ]; then
  COMMIT="$COMMIT (working tree has uncommitted changes)"
fi
CPU_MODEL="$(lscpu | grep 'Model name' | sed 's/^Model name:[[:space:]]*//' | head -n1)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

REPORT="$WORK/report.md"
{
  printf '## Tessera proxy benchmark — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  printf -- '- Machine: %s CPUs (nproc), %s, kernel %s\n' "$NCPU" "$CPU_MODEL" "$(uname -r)"
  printf -- '- Commit: %s\n' "$COMMIT"
  [ -n "${TESSERA_BIN:-}" ] && printf -- '- Binary: %s (TESSERA_BIN; not built from this checkout by the script)\n' "$TESSERA_BIN"
  printf -- '- Command: `%s`\n' "$INVOCATION"
  printf -- '- Pinning: redis-server, broker, echo backend, nginx, proxies on CPU 0 (one worker each); wrk on CPU 1\n'
  printf -- '- Load: `taskset -c 1 wrk -t1 -c%s -d%ss --latency -H "Authorization: Bearer <valid token>" URL/api/bench`, after a %s s warm-up run, for every target\n' \
    "$CONNECTIONS" "$DURATION" "$WARMUP"
  printf -- '- %s\n\n' "$("$NGINX" -v 2>&1 | sed 's|.*: ||')"
  printf '| target | requests/s | p50 (ms) | p99 (ms) | ÷ nginx hop | p99 − nginx hop (ms) | CPU 0 used by |\n'
  printf '|---|---:|---:|---:|---:|---:|---|\n'
  row echo "echo backend, direct"
  row nginx "nginx \`proxy_pass\` (HTTP/1.1, keepalive 64) — **the plain hop**"
  row tessera-cache "Tessera proxy, token cache on, analytics on"
  row tessera-nocache "Tessera proxy, cache off (a store lookup per call), analytics on"
  row tessera-noanalytics "Tessera proxy, token cache on, analytics off"
  row nginx-defaults "nginx \`proxy_pass\` with its defaults (HTTP/1.0, new backend connection per call)"
  printf '\n'
  printf 'Aims (same run):\n\n'
  printf -- '- Tessera with the cache ≥ 1.0× the nginx hop'"'"'s throughput: **%s×, %s**\n' "$C_RATIO" "$(verdict "$C_RATIO" '>=' 1.0)"
  printf -- '- Tessera with the cache within 1 ms of the nginx hop'"'"'s p99: **%s ms, %s**\n' "$C_DP99" "$(verdict "$C_DP99" '<=' 1.0)"
  printf -- '- Tessera without the cache ≥ 0.5×: **%s×, %s**\n' "$N_RATIO" "$(verdict "$N_RATIO" '>=' 0.5)"
  printf '\nToken cache during the cached run: %s hits, %s misses. Cache off: %s store lookups.\n' \
    "$CACHE_HITS_RUN" "$CACHE_MISSES_RUN" "$NOCACHE_LOOKUPS_RUN"
  printf 'CPU 0 used by: CPU time of each server process over the measured run (100%% = the whole core).\n'
  if [ -n "$MEM_DONE" ]; then
    printf '\nMemory of the cached proxy (VmRSS; mimalloc):\n\n'
    printf '| state | VmRSS (MiB) |\n|---|---:|\n'
    printf '| idle, after start-up | %s |\n' "$(mib "$RSS_IDLE")"
    printf '| after the throughput runs (1 token cached) | %s |\n' "$(mib "$RSS_BEFORE")"
    printf '| %s distinct tokens cached | %s |\n' "$NTOKENS" "$(mib "$RSS_FILLED")"
    printf '| after a second pass over them (all hits) | %s |\n' "$(mib "$RSS_AGAIN")"
    printf '| peak (VmHWM) | %s |\n' "$(mib "$HWM")"
    printf '\n'
    printf -- '- Aim: under 100 MiB with %s tokens cached: **%s MiB, %s**; %.0f bytes per cached token over the baseline.\n' \
      "$NTOKENS" "$(mib "$RSS_FILLED")" "$(verdict "$(mib "$RSS_FILLED")" '<=' 100)" \
      "$(awk -v a="$RSS_FILLED" -v b="$RSS_BEFORE" -v n="$NTOKENS" 'BEGIN { print (a - b) * 1024 / n }')"
    printf -- '- Tokens minted through the broker in %s s (wrk + bench/mint.lua); fill pass %s s (%s misses, %s hits);\n' \
      "$MINT_SECS" "$FILL_SECS" "$FILL_MISSES" "$FILL_HITS"
    printf '  second pass %s s (%s misses, %s hits): the cache held every token.\n' "$AGAIN_SECS" "$AGAIN_MISSES" "$AGAIN_HITS"
  fi
  if [ -n "$PERF_TOP" ]; then
    printf '\n`perf record -g` of the cached proxy for %s s under the same load (self time, top symbols):\n\n```\n%s\n```\n' \
      "$PERF_SECS" "$PERF_TOP"
    printf '\nBy object:\n\n```\n%s\n```\n' "$(cat "$WORK/perf-dso.txt")"
  fi
  if [ -n "$FAILED" ]; then
    printf '\n**ERRORS — these figures are not valid:** %s\n' "$FAILED"
  fi
  printf '\n'
} > "$REPORT"

mkdir -p bench/out
OUT="bench/out/proxy-$STAMP.md"
cat "$REPORT" >> "$OUT"
printf '\n'
cat "$REPORT"
printf 'Appended to %s\n' "$OUT"

if [ -n "$FAILED" ]; then
  printf '\nFAILED: %s\n' "$FAILED" >&2
  exit 1
fi
