#!/usr/bin/env bash
# Benchmark helper (not a test): CPU instructions per call of the proxy's and the broker's hot
# paths, counted by valgrind's callgrind — repeatable to a fraction of a percent even on a busy
# machine, unlike requests/s (issue 11: measure each direction before and after).
#
#   bash bench/percall.sh                       # the release binary of this checkout
#   TESSERA_BIN=/tmp/old/tessera bash bench/percall.sh   # another binary (A/B)
#   CALLS=3000 ONLY="proxy-cache broker-token" bash bench/percall.sh
#
# Targets (ONLY picks some): proxy-cache (token cache on, analytics on), proxy-nocache (a
# store lookup per call), proxy-flood (a new unknown well-formed token per call), proxy-unknown
# (one unknown well-formed token, repeated: the negative cache's case), broker-token
# (client_credentials issuance), broker-introspect, broker-introspect-flood (introspection of a new
# made-up well-formed token per call), yardstick (bench/yardstick: its token and
# introspection endpoints; YARDSTICK_BIN or target/release/tessera-yardstick), hop, hop-h1 and
# hop-hyper (the bare forwarding hop of bench/hop in front of the same echo backend, with
# actix-web's App, actix-http's HttpService or hyper's own server; HOP_BIN, or built here: the proxy's ceiling), echo-hop and echo-tessera
# (the echo backend itself, sent the headers a bare hop forwards — the caller's Authorization —
# or those Tessera forwards instead: X-Forwarded-For/-Host/-Proto and the five X-Tessera-*
# identity headers, values shaped as the bench app's; what identity forwarding costs the backend).
# Each target runs under
# `valgrind --tool=callgrind --instr-atstart=no`; a warm-up of WARMUP calls runs uninstrumented,
# then instrumentation is switched on for CALLS calls made over CONNECTIONS keep-alive connections
# (bench/count.py), switched off, and the counts dumped.
# Reported: instructions (Ir) per call over the whole process (every thread: workers, Redis
# client, analytics writer, timers); allocations and reallocations per call (the calls callgrind
# saw into the allocator's entry points, bench/allocs.py: the count a counting global allocator
# would give, over every thread); and Redis commands per call (INFO commandstats).
# Nothing is pinned and no time is measured: only counts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/bench/lib.sh"

CALLS="${CALLS:-4000}"
WARMUP="${WARMUP:-1000}"
CONNECTIONS="${CONNECTIONS:-16}"
ONLY="${ONLY:-proxy-cache proxy-nocache proxy-flood proxy-unknown broker-token broker-introspect broker-introspect-flood}"
bench_binary
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
bench_clean_env

bench_workdir percall
start() { local name="$1"; shift; "$@" > "$WORK/$name.log" 2>&1 & STARTED_PID=$!; PIDS+=("$STARTED_PID"); }
ready() { wait_ready 1200 "$@"; } # ready URL [PATTERN]: 120 s at most (valgrind starts slowly)

redis_start
# LEASE_MS sets the broker's `limits.lease_ms` (default 10): under valgrind the broker runs some
# 50x slower, so `LEASE_MS=1000` gives leases their native size and keeps the script calls per
# call from moving between runs (BENCHMARKS.md, "Leased rate limits").
write_broker_config "$WORK/broker.toml" "$REDIS_PORT" "${LEASE_MS:+lease_ms = $LEASE_MS
}[tokens]
access_token_ttl_secs = 3600"
ECHO_PORT="$(free_port)"
start echo "$BIN" echo --listen "127.0.0.1:$ECHO_PORT" --workers 1

# cg NAME CMD...: starts CMD under callgrind (instrumentation off); sets CG_PID.
cg() {
  local name="$1"; shift
  start "$name" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/$name.cg" "$@"
  CG_PID=$STARTED_PID
  echo "$CG_PID" > "$WORK/$name.pid"
}
# measure NAME CG URL MODE: warm-up, then CALLS instrumented calls (bench/count.py MODE) to the
# process started as `cg CG`; prints the row.
measure() {
  local name="$1" cgname="$2" url="$3" mode="$4" pid ir before after dump allocs
  pid="$(cat "$WORK/$cgname.pid")"
  python3 bench/count.py "$url" "$WARMUP" "$CONNECTIONS" "$mode" > "$WORK/$name.warm"
  sleep 1 # the analytics writer flushes the warm-up's events before counting starts
  cmdstats "$REDIS_PORT" "$WORK/$name.before"
  callgrind_control -i on "$pid" > /dev/null
  python3 bench/count.py "$url" "$CALLS" "$CONNECTIONS" "$mode" > "$WORK/$name.calls"
  sleep 1 # the analytics writer's last flush of these calls
  callgrind_control -i off "$pid" > /dev/null
  cmdstats "$REDIS_PORT" "$WORK/$name.after"
  callgrind_control -d "$pid" > /dev/null
  sleep 1
  # Each dump holds the counts since the previous one: the newest file of this process.
  dump="$(ls -t "$WORK/$cgname".cg.* | head -n1)"
  ir="$(awk '/^totals:/ { print $2 }' "$dump")"
  allocs="$(python3 bench/allocs.py "$dump" | sed -n 's/^allocs=\([0-9]*\) reallocs=\([0-9]*\)/\1 \2/p')"
  before="$(sed -n 's/^calls=\([0-9]*\).*/\1/p' "$WORK/$name.calls")"
  after="$(cmd_delta "$WORK/$name.before" "$WORK/$name.after" all)"
  awk -v n="$name" -v ir="$ir" -v al="${allocs% *}" -v ra="${allocs#* }" -v c="$before" -v r="$after" -v top="$(cmd_top "$WORK/$name.before" "$WORK/$name.after" 4)" -v st="$(sed -n 's/.*statuses=//p' "$WORK/$name.calls")" \
    'BEGIN { printf "| %s | %d | %.0f | %.1f | %.1f | %.2f | %s | %s |\n", n, c, ir / c, al / c, ra / c, r / c, top, st }'
}

want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }

echo "| target | calls | instructions per call | allocations per call | reallocations per call | Redis commands per call | most frequent | answers |"
echo "|---|---:|---:|---:|---:|---:|---|---|"

if want yardstick || want broker-token || want broker-introspect || want broker-introspect-flood || want proxy-cache || want proxy-nocache || want proxy-flood; then
  if want broker-token || want broker-introspect || want broker-introspect-flood; then
    cg broker "$BIN" broker --config "$WORK/broker.toml"
  else
    start broker "$BIN" broker --config "$WORK/broker.toml"
  fi
  ready "$BASE/readyz"
  bench_app
  curl -s -o "$WORK/token.json" -X POST -H "Authorization: $BENCH_BASIC_AUTH" --data 'grant_type=client_credentials' "$BASE/token"
  TOKEN="$(json_get 'd["access_token"]' < "$WORK/token.json")"
  export BENCH_TOKEN="$TOKEN"
  if want broker-token; then measure broker-token broker "$BASE/token" "form:grant_type=client_credentials"; fi
  if want broker-introspect; then measure broker-introspect broker "$BASE/introspect" "form:token=$TOKEN"; fi
  if want broker-introspect-flood; then measure broker-introspect-flood broker "$BASE/introspect" introspect-flood; fi
  if want yardstick; then
    YS="${YARDSTICK_BIN:-$ROOT/target/release/tessera-yardstick}"
    [ -x "$YS" ] || die "no yardstick at $YS (bash bench/broker.sh builds it)"
    YS_PORT="$(free_port)"
    YARDSTICK_LISTEN="127.0.0.1:$YS_PORT" YARDSTICK_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
      YARDSTICK_CLIENT_ID="$CLIENT_ID" YARDSTICK_CLIENT_SECRET="$CLIENT_SECRET" cg yardstick "$YS"
    for _ in $(seq 1200); do curl -s -o /dev/null "http://127.0.0.1:$YS_PORT/" && break; sleep 0.1; done
    measure yardstick-token yardstick "http://127.0.0.1:$YS_PORT/token" "form:grant_type=client_credentials"
    YS_TOKEN="$(curl -s -X POST -H "Authorization: $BENCH_BASIC_AUTH" --data grant_type=client_credentials \
      "http://127.0.0.1:$YS_PORT/token" | json_get 'd["access_token"]')"
    measure yardstick-introspect yardstick "http://127.0.0.1:$YS_PORT/introspect" "form:token=$YS_TOKEN"
  fi
fi

proxy() { # proxy NAME CACHE ANALYTICS
  local port status
  port="$(free_port)"; status="$(free_port)"
  write_proxy_config "$WORK/$1.toml" "$port" "url = \"redis://127.0.0.1:$REDIS_PORT\"" "$2" "$3"
  cg "$1" "$BIN" proxy --config "$WORK/$1.toml" --status "127.0.0.1:$status"
  PROXY_URL="http://127.0.0.1:$port/api/bench"
  ready "http://127.0.0.1:$status/readyz" '"revocation_channel": *true'
}
if want proxy-cache; then
  proxy proxy-cache true true
  measure proxy-cache proxy-cache "$PROXY_URL" "header:Authorization:Bearer $TOKEN"
fi
if want proxy-nocache; then
  proxy proxy-nocache false true
  measure proxy-nocache proxy-nocache "$PROXY_URL" "header:Authorization:Bearer $TOKEN"
fi
if want proxy-flood; then
  proxy proxy-flood true true
  measure proxy-flood proxy-flood "$PROXY_URL" flood
fi
if want proxy-unknown; then
  proxy proxy-unknown true true
  UNKNOWN="$(python3 -c 'import sys; sys.path.insert(0, "bench"); import count; print(count.unknown_token())')"
  measure proxy-unknown proxy-unknown "$PROXY_URL" "header:Authorization:Bearer $UNKNOWN"
fi
# The bare hop (bench/hop): the same calls as proxy-cache, forwarded with nothing else done.
for mode in hop hop-h1 hop-hyper; do
  want "$mode" || continue
  bench_hop_binary
  HOP_PORT="$(free_port)"
  case "$mode" in hop-h1) server=h1;; hop-hyper) server=hyper;; *) server=app;; esac
  # `env` execs valgrind (same pid); valgrind would not follow an exec of the hop.
  # shellcheck disable=SC2046 # hop_env is words on purpose
  start "$mode" env $(hop_env "$server" "$HOP_PORT") valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$WORK/$mode.cg" "$HOP_BIN"
  echo "$STARTED_PID" > "$WORK/$mode.pid"
  ready "http://127.0.0.1:$HOP_PORT/api/bench"
  # The proxy rows' token, or one of the same shape when no broker ran.
  [ -n "${TOKEN:-}" ] || TOKEN="$(python3 -c 'import sys; sys.path.insert(0, "bench"); import count; print(count.unknown_token())')"
  measure "$mode" "$mode" "http://127.0.0.1:$HOP_PORT/api/bench" "header:Authorization:Bearer $TOKEN"
done
# The echo backend alone, with either forwarder's header set (the backend's share of a call).
for mode in echo-hop echo-tessera; do
  want "$mode" || continue
  EPORT="$(free_port)"
  cg "$mode" "$BIN" echo --listen "127.0.0.1:$EPORT" --workers 1
  ready "http://127.0.0.1:$EPORT/api/bench"
  [ -n "${TOKEN:-}" ] || TOKEN="$(python3 -c 'import sys; sys.path.insert(0, "bench"); import count; print(count.unknown_token())')"
  if [ "$mode" = echo-hop ]; then
    headers="Authorization:Bearer $TOKEN"
  else
    headers="X-Forwarded-For:127.0.0.1
X-Forwarded-Host:127.0.0.1:36077
X-Forwarded-Proto:http
X-Tessera-App:bench
X-Tessera-App-Id:8aaf90fe-ba87-41e7-826b-aed047c9b9d7
X-Tessera-Client-Id:ff4dca43b62c4b0e86fc40c6874a6086
X-Tessera-Developer-Id:d83f0a97-3bb6-4120-8d3c-51a89217804b
X-Tessera-Scope:read"
  fi
  measure "$mode" "$mode" "http://127.0.0.1:$EPORT/api/bench" "header:$headers"
done
