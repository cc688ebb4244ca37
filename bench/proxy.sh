#!/usr/bin/env bash
# Benchmark (not a test): the Tessera proxy against one plain nginx hop, in the same run — the
# harness of issue 11 (BENCHMARKS.md, "Proxy").
#
#   bash bench/proxy.sh                  # the full run: about 9 minutes plus the release build
#   DURATION=3 ROUNDS=1 NTOKENS=20000 FLOOD_DURATION=2 bash bench/proxy.sh   # smoke run
#
# Targets, all in front of the same echo backend (`tessera echo`), all sent the same request
# (`GET /api/bench` with `Authorization: Bearer <valid token>`) with the same wrk settings, in
# ROUNDS interleaved rounds (bench/proxy/rounds.sh):
#   echo direct | nginx proxy_pass (HTTP/1.1 + keepalive pool: the 1.0 baseline) | Tessera proxy
#   with the token cache (analytics on) | Tessera without the cache | Tessera with the cache,
#   analytics off | nginx auth_request -> oidc-provider introspection, tokens in Redis (the P2
#   peer, bench/proxy/peer.sh; subrequests over a keep-alive pool, and with nginx's defaults) |
#   nginx proxy_pass with its defaults | the bare hop (bench/hop: actix-web + hyper forwarding
#   with nothing else done, the ceiling of Tessera's stack; HOP).
# Redis commands per call come from INFO commandstats deltas around each run. Then: a perf
# profile of the cached proxy; the P6 memory pass (bench/proxy/memory.sh: NTOKENS tokens cached);
# the P5 floods of refused tokens (bench/proxy/flood.sh). The report: bench/proxy/report.sh.
#
# Environment:
#   DURATION        seconds per measured wrk run (default 10)
#   ROUNDS          interleaved rounds over the targets (default 3)
#   WARMUP          seconds of the unmeasured wrk run before each target's first run (default 3)
#   CONNECTIONS     wrk connections (default 64)
#   NTOKENS         distinct tokens for the memory pass (default 1000000; 0 skips it)
#   CACHE_MAX_ENTRIES  the proxies' [cache] max_entries (default: room for NTOKENS, see below)
#   MEM_TIMEOUT     longest one memory step (mint, fill, second pass) may take, s (default 300)
#   FLOOD_DURATION  seconds per P5 flood (default 5; 0 skips the floods)
#   FLOOD_DRAIN_MAX longest wait for the analytics writer to go quiet after a flood, s (default 60)
#   PEER            0: no nginx auth_request + oidc-provider peer (no node needed)
#   HOP             app (default): the bare hop with actix-web's App; both: also the one on
#                   actix-http's HttpService (about 40 s more); all: also the one on hyper's own
#                   server, no actix (another 40 s); 0: no bare hop
#   GATEWAY         0: no nginx gateway hop (default 1: nginx's tuned hop plus X-Forwarded-* and
#                   a buffered access log of every call, a like-for-like reference; ~40 s more)
#   HOP_BIN         use this bare-hop binary instead of building bench/hop
#   PERF            0: no perf profile of the proxy (default: profile if `perf` works)
#   PERF_SECS       seconds of `perf record` during an extra warm-cache run (default 5)
#   SKIP_BUILD=1    use the existing release binary instead of running cargo build --release
#   TESSERA_BIN     benchmark this tessera binary instead (implies no build)
#   KEEP_WORK=1     keep the temporary directory (configs, logs, raw wrk output, perf.data)
#
# Pinning: every server (redis-server, broker, echo backend, nginx, node, the proxies) on CPU 0
# (`taskset -c 0`, one worker each); wrk (and perf) on CPU 1. All traffic is to 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# free_port, random_chars, json_get, log, die, to_ms, write_proxy_config, cmdstats, xadd_settle, ...
. "$ROOT/bench/lib.sh"

# The command as given (the variables the caller set), for the report.
INVOCATION="${BENCH_INVOCATION:-}"
if [ -z "$INVOCATION" ]; then
  for v in DURATION ROUNDS WARMUP CONNECTIONS NTOKENS CACHE_MAX_ENTRIES FLOOD_DURATION PEER HOP GATEWAY PERF SKIP_BUILD TESSERA_BIN; do
    [ -n "${!v+x}" ] && INVOCATION+="$v=${!v} "
  done
  INVOCATION+="bash bench/proxy.sh"
fi
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
NTOKENS="${NTOKENS:-1000000}"
MEM_TIMEOUT="${MEM_TIMEOUT:-300}"
FLOOD_DURATION="${FLOOD_DURATION:-5}"
FLOOD_DRAIN_MAX="${FLOOD_DRAIN_MAX:-60}"
PERF_SECS="${PERF_SECS:-5}"
PEER_ON=1; [ "${PEER:-1}" = "0" ] && PEER_ON=""
HOP="${HOP:-app}"
GATEWAY="${GATEWAY:-1}"
case "$HOP" in app|both|all|0) ;; *) echo "HOP must be app, both, all or 0" >&2; exit 2;; esac
# Room for every token of the memory pass and the run's own: the smallest power of two above
# NTOKENS + 1000 (moka sizes its frequency sketch by the capacity rounded up to a power of two,
# so any capacity in between costs the same), and at least the proxy's default of 200000.
if [ -z "${CACHE_MAX_ENTRIES:-}" ]; then
  CACHE_MAX_ENTRIES=200000
  cap=1; while [ "$cap" -lt $((NTOKENS + 1000)) ]; do cap=$((cap * 2)); done
  [ "$cap" -gt "$CACHE_MAX_ENTRIES" ] && CACHE_MAX_ENTRIES=$cap
fi

for v in DURATION ROUNDS WARMUP CONNECTIONS NTOKENS CACHE_MAX_ENTRIES MEM_TIMEOUT FLOOD_DURATION FLOOD_DRAIN_MAX PERF_SECS; do
  case "${!v}" in ''|*[!0-9]*) echo "$v must be a whole number" >&2; exit 2;; esac
done
[ "$DURATION" -ge 1 ] && [ "$CONNECTIONS" -ge 1 ] && [ "$ROUNDS" -ge 1 ] \
  || { echo "DURATION, ROUNDS and CONNECTIONS must be at least 1" >&2; exit 2; }
[ "$CACHE_MAX_ENTRIES" -gt "$NTOKENS" ] || { echo "CACHE_MAX_ENTRIES must exceed NTOKENS" >&2; exit 2; }
START_TIME="$(date +%s)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

. "$ROOT/bench/proxy/rounds.sh"
. "$ROOT/bench/proxy/peer.sh"
. "$ROOT/bench/proxy/memory.sh"
. "$ROOT/bench/proxy/flood.sh"
. "$ROOT/bench/proxy/report.sh"

# ---------------------------------------------------------------------------- prerequisites
need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v taskset >/dev/null 2>&1 || need_apt+=(util-linux)
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || need_apt+=(nginx)
if [ -n "$PEER_ON" ]; then
  command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
  command -v npm >/dev/null 2>&1 || need_apt+=(npm)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v python3 >/dev/null 2>&1 || die "python3 is required (JSON parsing)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
if [ -n "$PEER_ON" ]; then
  case "$("$NGINX" -V 2>&1)" in
    *--with-http_auth_request_module*) ;;
    *) die "this nginx has no auth_request module (needed by the P2 peer; PEER=0 skips it)";;
  esac
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
    || die "the P2 peer (oidc-provider 8) needs Node.js 18 or later, found $(node -v) (PEER=0 skips it)"
  PEER_VERSIONS="node $(node -v), oidc-provider $(json_get 'd["dependencies"]["oidc-provider"]' < bench/peer/package.json 2>/dev/null || echo '?')"
fi

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
[ "$HOP" = 0 ] || bench_hop_binary
# TESSERA_* variables from the caller's environment would override the files; drop them.
bench_clean_env

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
NGINX_GATEWAY_PORT="$(free_port)"
NGX="$WORK/nginx"
mkdir -p "$NGX"
NGX_USER=""
[ "$(id -u)" -eq 0 ] && NGX_USER="user root;"
sed -e "s|@USER@|$NGX_USER|" -e "s|@PREFIX@|$NGX|g" -e "s|@TUNED_PORT@|$NGINX_PORT|" \
  -e "s|@PLAIN_PORT@|$NGINX_PLAIN_PORT|" -e "s|@GATEWAY_PORT@|$NGINX_GATEWAY_PORT|" -e "s|@ECHO_PORT@|$ECHO_PORT|g" \
  bench/nginx.conf.template > "$NGX/nginx.conf"
if [ -n "$PEER_ON" ]; then peer_start; else peer_disable; fi
"$NGINX" -t -q -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" > "$WORK/nginx-t.log" 2>&1 \
  || { cat "$WORK/nginx-t.log" >&2; die "nginx -t refused the generated configuration"; }
log "nginx $("$NGINX" -v 2>&1 | sed 's|.*/||') on 127.0.0.1:$NGINX_PORT (tuned), :$NGINX_GATEWAY_PORT (tuned + X-Forwarded-*, access log), :$NGINX_PLAIN_PORT (defaults)${PEER_ON:+, :$PEER_PORT and :$PEER_PLAIN_PORT (auth_request peer)} (CPU 0, 1 worker)"
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
  write_proxy_config "$WORK/$name.toml" "$PROXY_PORT" "url = \"redis://127.0.0.1:$REDIS_PORT\"" "$cache" "$analytics" "$CACHE_MAX_ENTRIES"
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

# ---------------------------------------------------------------------------- the bare hop
# start_hop NAME SERVER -> HOP_PORT / HOP_PID (bench/hop, one worker, in front of the echo backend)
start_hop() {
  HOP_PORT="$(free_port)"
  log "bare hop '$1' (bench/hop, HOP_SERVER=$2) on 127.0.0.1:$HOP_PORT (CPU 0, 1 worker)"
  # shellcheck disable=SC2046 # hop_env is words on purpose
  start "$1" env $(hop_env "$2" "$HOP_PORT") "$HOP_BIN"
  HOP_PID=$STARTED_PID
  wait_for "bare hop $1" "$HOP_PID" "http://127.0.0.1:$HOP_PORT/api/bench"
}
if [ "$HOP" != 0 ]; then start_hop hop app; HOP_APP_PORT=$HOP_PORT; HOP_APP_PID=$HOP_PID; fi
case "$HOP" in both|all) start_hop hop-h1 h1; HOP_H1_PORT=$HOP_PORT; HOP_H1_PID=$HOP_PID;; esac
if [ "$HOP" = all ]; then start_hop hop-hyper hyper; HOP_HYPER_PORT=$HOP_PORT; HOP_HYPER_PID=$HOP_PID; fi

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
if [ "$GATEWAY" != 0 ]; then
  check_target "nginx gateway hop" "http://127.0.0.1:$NGINX_GATEWAY_PORT$URL_PATH"
  grep -q '"x-forwarded-for":\["127.0.0.1"\]' "$WORK/check.json" || die "nginx gateway hop did not forward X-Forwarded-For: $(head -c 300 "$WORK/check.json")"
fi
[ "$HOP" = 0 ] || check_target "bare hop" "http://127.0.0.1:$HOP_APP_PORT$URL_PATH"
case "$HOP" in both|all) check_target "bare hop (actix-http)" "http://127.0.0.1:$HOP_H1_PORT$URL_PATH";; esac
[ "$HOP" != all ] || check_target "bare hop (hyper)" "http://127.0.0.1:$HOP_HYPER_PORT$URL_PATH"
for p in "$CACHE_PORT" "$NOCACHE_PORT" "$NOAN_PORT"; do
  check_target "tessera :$p" "http://127.0.0.1:$p$URL_PATH"
  grep -q "x-tessera-client-id" "$WORK/check.json" || die "tessera :$p did not forward the caller: $(head -c 300 "$WORK/check.json")"
  code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p$URL_PATH")"
  [ "$code" = "401" ] || die "tessera :$p without a token: HTTP $code (expected 401)"
  code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN%?}x" "http://127.0.0.1:$p$URL_PATH")"
  [ "$code" = "401" ] || die "tessera :$p with a wrong token: HTTP $code (expected 401)"
done
[ -z "$PEER_ON" ] || peer_check
# The counters the report reads: a renamed one must fail the run, not read as 0.
curl -s -m 10 "http://127.0.0.1:$CACHE_STATUS/metrics" > "$WORK/metrics.txt"
for m in token_cache_hits_total token_cache_misses_total analytics_dropped_total 'requests_total{'; do
  grep -q "^tessera_proxy_$m" "$WORK/metrics.txt" || die "the proxy's /metrics has no tessera_proxy_$m"
done

# ---------------------------------------------------------------------------- throughput
FAILED=""
ECHO_URL="http://127.0.0.1:$ECHO_PORT$URL_PATH"
add_target echo "echo backend, direct" "$ECHO_URL" "$ECHO_PID:echo" "$AUTH_HEADER"
add_target nginx "nginx \`proxy_pass\` (HTTP/1.1, keepalive 64) — **the plain hop, 1.0**" \
  "http://127.0.0.1:$NGINX_PORT$URL_PATH" "$NGINX_WORKER_PID:nginx $ECHO_PID:echo" "$AUTH_HEADER"
if [ "$GATEWAY" != 0 ]; then
  add_target nginx-gateway "nginx \`proxy_pass\` as above + \`X-Forwarded-For/-Proto/-Host\` + every call in a buffered access log (a like-for-like reference, not the aim's baseline)" \
    "http://127.0.0.1:$NGINX_GATEWAY_PORT$URL_PATH" "$NGINX_WORKER_PID:nginx $ECHO_PID:echo" "$AUTH_HEADER"
fi
add_target tessera-cache "Tessera proxy, token cache on, analytics on" "http://127.0.0.1:$CACHE_PORT$URL_PATH" \
  "$CACHE_PID:proxy $ECHO_PID:echo $REDIS_PID:redis" "$AUTH_HEADER"
add_target tessera-nocache "Tessera proxy, cache off (a store lookup per call), analytics on" \
  "http://127.0.0.1:$NOCACHE_PORT$URL_PATH" "$NOCACHE_PID:proxy $ECHO_PID:echo $REDIS_PID:redis" "$AUTH_HEADER"
add_target tessera-noanalytics "Tessera proxy, token cache on, analytics off" "http://127.0.0.1:$NOAN_PORT$URL_PATH" \
  "$NOAN_PID:proxy $ECHO_PID:echo $REDIS_PID:redis" "$AUTH_HEADER"
if [ "$HOP" != 0 ]; then
  add_target hop "bare hop: actix-web \`App\` + hyper, forwarding only (bench/hop) — the stack's ceiling" \
    "http://127.0.0.1:$HOP_APP_PORT$URL_PATH" "$HOP_APP_PID:hop $ECHO_PID:echo" "$AUTH_HEADER"
fi
case "$HOP" in both|all)
  add_target hop-h1 "bare hop: actix-http \`HttpService\` + hyper, no \`App\` layer (bench/hop)" \
    "http://127.0.0.1:$HOP_H1_PORT$URL_PATH" "$HOP_H1_PID:hop $ECHO_PID:echo" "$AUTH_HEADER";;
esac
if [ "$HOP" = all ]; then
  add_target hop-hyper "bare hop: hyper's own server + hyper, no actix (bench/hop) — another Rust server core" \
    "http://127.0.0.1:$HOP_HYPER_PORT$URL_PATH" "$HOP_HYPER_PID:hop $ECHO_PID:echo" "$AUTH_HEADER"
fi
if [ -n "$PEER_ON" ]; then
  add_target peer "nginx \`auth_request\` → oidc-provider introspection (Redis) — the P2 peer" \
    "http://127.0.0.1:$PEER_PORT$URL_PATH" "$NGINX_WORKER_PID:nginx $OIDC_PID:node $ECHO_PID:echo $REDIS_PID:redis" "$PEER_AUTH_HEADER"
  # Near the end of each round: a new connection per subrequest leaves TIME_WAIT sockets behind.
  add_target peer-defaults "the same peer, subrequest with nginx's proxy defaults (new connection to the provider per call)" \
    "http://127.0.0.1:$PEER_PLAIN_PORT$URL_PATH" "$NGINX_WORKER_PID:nginx $OIDC_PID:node $ECHO_PID:echo $REDIS_PID:redis" "$PEER_AUTH_HEADER"
fi
# Last in each round: a new backend connection per call leaves TIME_WAIT sockets behind.
add_target nginx-defaults "nginx \`proxy_pass\` with its defaults (HTTP/1.0, new backend connection per call)" \
  "http://127.0.0.1:$NGINX_PLAIN_PORT$URL_PATH" "$NGINX_WORKER_PID:nginx $ECHO_PID:echo" "$AUTH_HEADER"

CACHE_HITS_RUN=0; CACHE_MISSES_RUN=0; NOCACHE_LOOKUPS_RUN=0
run_hook_before() {
  case "$1" in
    tessera-cache) H0="$(metric "$CACHE_STATUS" token_cache_hits_total)"; M0="$(metric "$CACHE_STATUS" token_cache_misses_total)";;
    tessera-nocache) NM0="$(metric "$NOCACHE_STATUS" token_cache_misses_total)";;
  esac
}
run_hook_after() {
  local h m
  case "$1" in
    tessera-cache)
      h="$(metric "$CACHE_STATUS" token_cache_hits_total)"; m="$(metric "$CACHE_STATUS" token_cache_misses_total)"
      CACHE_HITS_RUN=$(( CACHE_HITS_RUN + ${h%.*} - ${H0%.*} )); CACHE_MISSES_RUN=$(( CACHE_MISSES_RUN + ${m%.*} - ${M0%.*} ));;
    tessera-nocache)
      m="$(metric "$NOCACHE_STATUS" token_cache_misses_total)"
      NOCACHE_LOOKUPS_RUN=$(( NOCACHE_LOOKUPS_RUN + ${m%.*} - ${NM0%.*} ));;
  esac
}
run_rounds
[ "$CACHE_HITS_RUN" -gt 0 ] || FAILED+="tessera-cache: no cache hits during the runs; "

# ---------------------------------------------------------------------------- perf
PERF_TOP=""
# perf report pads every line to the terminal width and ends it with empty columns.
perf_trim() { sed -E 's/([[:space:]]+-)*[[:space:]]*$//; s/^ {4}//'; }
if [ "${PERF:-1}" != "0" ] && command -v perf >/dev/null 2>&1; then
  log "perf record -g on the cached proxy (pid $CACHE_PID) for ${PERF_SECS}s under the same load"
  taskset -c 1 wrk -t1 "-c$CONNECTIONS" "-d$((PERF_SECS + 2))s" -H "$AUTH_HEADER" "http://127.0.0.1:$CACHE_PORT$URL_PATH" > "$WORK/perf-wrk.txt" 2>&1 &
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

# ---------------------------------------------------------------------------- memory (P6)
MEM_DONE=""
[ "$NTOKENS" -eq 0 ] || memory_pass

# ---------------------------------------------------------------------------- floods (P5)
if [ "$FLOOD_DURATION" -gt 0 ]; then
  flood malformed
  flood unknown
fi

# ---------------------------------------------------------------------------- report
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null || true)" ]; then
  COMMIT="$COMMIT (working tree has uncommitted changes)"
fi
CPU_MODEL="$(lscpu | grep 'Model name' | sed 's/^Model name:[[:space:]]*//' | head -n1)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
TOTAL_SECS=$(( $(date +%s) - START_TIME ))

REPORT="$WORK/report.md"
report > "$REPORT"
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
