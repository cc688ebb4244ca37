#!/usr/bin/env bash
# Benchmark helper (not a test): the kernel half of a proxied call — syscalls by name, context
# switches and wake-ups per call, per thread — for the Tessera proxy (token cache on, analytics
# on: P1's target) and for nginx's `proxy_pass` hop in front of the same echo backend (issue 11,
# direction 1; BENCHMARKS.md, "Syscalls and wake-ups per proxied call").
#
#   bash bench/syscalls.sh                                  # this checkout's release binary
#   TESSERA_BIN=/tmp/old/tessera bash bench/syscalls.sh     # another binary (A/B)
#   DURATION=3 CONNECTIONS=16 bash bench/syscalls.sh
#
# Set-up as bench/proxy.sh's (bench/lib.sh): redis-server, a one-worker broker (the token), the
# echo backend, nginx (the tuned hop of bench/nginx.conf.template) and the proxy, all pinned to
# CPU 0 with one worker each; wrk on CPU 1, one thread, CONNECTIONS keep-alive connections.
# For each target: a WARMUP s unmeasured run, then `perf stat` attached to the server's process
# (every thread; for nginx its worker) and to the echo backend while wrk runs DURATION s:
# `syscalls:sys_enter_*` (each syscall by name), `sched:sched_switch` (the process's threads
# leaving the CPU), `sched:sched_wakeup` (wake-ups the process's threads issue: another thread,
# or a process such as the backend waiting on a socket). Voluntary and involuntary context
# switches per thread come from /proc/PID/task/*/status before and after. Everything is divided
# by the calls wrk completed. Counts, not times: they repeat on a busy machine (the window is a
# little longer than wrk's run; an idle proxy makes a few syscalls a second, nothing next to
# 10^5 calls).
#
# Also CPU time per call: `task-clock` (precise, per thread), the user/kernel split by /proc
# ticks (rough) and by a `perf record -e cpu-clock` sample of the same window (the kernel's share
# and the top symbols). On a busy machine times swell; the counts do not.
#
# Environment: DURATION (s, default 5), WARMUP (s, default 2), CONNECTIONS (default 64),
# WORKERS (the proxy's server.workers, default 1 as in bench/proxy.sh; 2 shows what crosses
# between workers), HOP (app, the default: also the bare hop of bench/hop in front of the same
# backend, the stack's ceiling; h1: its actix-http server; hyper: hyper's own server; both: app
# and h1; all: the three; 0: none; HOP_BIN), TESSERA_BIN (default target/release/tessera), CACHE=false (the proxy's token cache off: a store lookup per call, P2), KEEP_WORK=1 keeps the work
# directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/bench/lib.sh"

DURATION="${DURATION:-5}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
WORKERS="${WORKERS:-1}"
bench_binary
for tool in perf wrk redis-server taskset curl; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || die "nginx is needed"
perf stat -e 'syscalls:sys_enter_write' -- true >/dev/null 2>&1 \
  || die "perf cannot read the syscalls tracepoints (root, or kernel.perf_event_paranoid <= -1)"
bench_clean_env

bench_workdir syscalls
start() { local name="$1"; shift; taskset -c 0 "$@" > "$WORK/$name.log" 2>&1 & STARTED_PID=$!; PIDS+=("$STARTED_PID"); }
ready() { wait_ready 300 "$@"; } # ready URL [PATTERN]: 30 s at most

redis_start
write_broker_config "$WORK/broker.toml" "$REDIS_PORT" '[tokens]
access_token_ttl_secs = 3600'
start broker "$BIN" broker --config "$WORK/broker.toml"
ready "$BASE/readyz"
bench_app
TOKEN="$(curl -s -X POST -H "Authorization: $BENCH_BASIC_AUTH" --data grant_type=client_credentials "$BASE/token" \
  | json_get 'd["access_token"]')"

ECHO_PORT="$(free_port)"
start echo "$BIN" echo --listen "127.0.0.1:$ECHO_PORT" --workers 1
ECHO_PID=$STARTED_PID
ready "http://127.0.0.1:$ECHO_PORT/api/bench"

NGX="$WORK/nginx"; mkdir -p "$NGX"; : > "$NGX/peer.conf"
NGINX_PORT="$(free_port)"
sed -e "s|@USER@|$([ "$(id -u)" -eq 0 ] && echo 'user root;')|" -e "s|@PREFIX@|$NGX|g" \
  -e "s|@TUNED_PORT@|$NGINX_PORT|" -e "s|@PLAIN_PORT@|$(free_port)|" -e "s|@ECHO_PORT@|$ECHO_PORT|g" \
  bench/nginx.conf.template > "$NGX/nginx.conf"
start nginx "$NGINX" -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf"
ready "http://127.0.0.1:$NGINX_PORT/api/bench"
NGINX_WORKER="$(pgrep -P "$STARTED_PID" | head -n1)"

PROXY_PORT="$(free_port)"; STATUS_PORT="$(free_port)"
write_proxy_config "$WORK/proxy.toml" "$PROXY_PORT" "url = \"redis://127.0.0.1:$REDIS_PORT\"" "${CACHE:-true}" true
sed -i "s/^workers = 1$/workers = $WORKERS/" "$WORK/proxy.toml"
start proxy "$BIN" proxy --config "$WORK/proxy.toml" --status "127.0.0.1:$STATUS_PORT"
PROXY_PID=$STARTED_PID
ready "http://127.0.0.1:$STATUS_PORT/readyz" '"revocation_channel": *true'
HOP="${HOP:-app}"
HOPS=(); case "$HOP" in app|h1|hyper) HOPS=("$HOP");; both) HOPS=(app h1);; all) HOPS=(app h1 hyper);; 0) ;; *) die "HOP: app, h1, hyper, both, all or 0";; esac
declare -A HOP_PIDS HOP_PORTS
[ "${#HOPS[@]}" -eq 0 ] || bench_hop_binary
for h in "${HOPS[@]}"; do
  HOP_PORTS[$h]="$(free_port)"
  # shellcheck disable=SC2046 # hop_env is words on purpose
  start "hop-$h" env $(hop_env "$h" "${HOP_PORTS[$h]}") "$HOP_BIN"
  HOP_PIDS[$h]=$STARTED_PID
  ready "http://127.0.0.1:${HOP_PORTS[$h]}/api/bench"
done

# threads PID OUT: "tid name voluntary involuntary" per thread of PID.
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s %s\n' "${t##*/}" "$(tr ' ' '_' < "$t/comm")" \
      "$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status")" \
      "$(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "$t/status")"
  done > "$2" 2>/dev/null || true
}
# cpu PID: "user system" clock ticks of the whole process.
cpu() { awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat"; }
EVENTS='task-clock,syscalls:sys_enter_*,sched:sched_switch,sched:sched_wakeup'

# measure NAME PID URL: the warm-up, then DURATION s of wrk with perf stat on PID and the echo
# backend; prints the report of bench/syscalls.py.
measure() {
  local name="$1" pid="$2" url="$3" p1 p2 p3
  taskset -c 1 wrk -t1 "-c$CONNECTIONS" "-d${WARMUP}s" -H "Authorization: Bearer $TOKEN" "$url" > /dev/null
  threads "$pid" "$WORK/$name.t0"
  cpu "$pid" > "$WORK/$name.cpu0"
  taskset -c 1 perf stat --per-thread -x, -e "$EVENTS" -p "$pid" -o "$WORK/$name.perf" > /dev/null 2>&1 &
  p1=$!
  taskset -c 1 perf stat --per-thread -x, -e "$EVENTS" -p "$ECHO_PID" -o "$WORK/$name.echo.perf" > /dev/null 2>&1 &
  p2=$!
  taskset -c 1 perf record -q -e cpu-clock -F 999 -p "$pid" -o "$WORK/$name.data" > /dev/null 2>&1 &
  p3=$!
  sleep 1 # perf attached to every thread
  taskset -c 1 wrk -t1 "-c$CONNECTIONS" "-d${DURATION}s" -H "Authorization: Bearer $TOKEN" "$url" > "$WORK/$name.wrk"
  kill -INT "$p1" "$p2" "$p3"; wait "$p1" "$p2" "$p3" || true
  threads "$pid" "$WORK/$name.t1"
  cpu "$pid" > "$WORK/$name.cpu1"
  local calls
  calls="$(awk '/requests in/ { print $1 }' "$WORK/$name.wrk")"
  grep -q 'Non-2xx' "$WORK/$name.wrk" && die "$name: answers other than 2xx: $(cat "$WORK/$name.wrk")"
  python3 bench/syscalls.py "$name" "$calls" "$WORK/$name.perf" "$WORK/$name.echo.perf" "$WORK/$name.t0" "$WORK/$name.t1"
  read -r u0 s0 < "$WORK/$name.cpu0"; read -r u1 s1 < "$WORK/$name.cpu1"
  awk -v c="$calls" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "\nCPU per call by /proc ticks (rough): user %.1f µs, kernel %.1f µs\n", u / hz / c * 1e6, s / hz / c * 1e6 }'
  local kernel
  kernel="$(perf report -i "$WORK/$name.data" --sort dso --stdio 2>/dev/null \
    | awk '/\[kernel/ { sub(/%/, "", $1); k += $1 } END { printf "%.1f", k }')"
  echo "Kernel share of cpu-clock samples (perf record, ~1 kHz): $kernel %"
  perf report -i "$WORK/$name.data" --no-children --sort symbol --stdio 2>/dev/null \
    | grep -E '^ +[0-9]+\.[0-9]+%' | sed -E 's/([[:space:]]+-)*[[:space:]]*$//' > "$WORK/$name.top" || true
  printf '\nTop symbols:\n```\n%s\n```\n' "$(head -n 12 "$WORK/$name.top")"
}

echo "# Syscalls and wake-ups per proxied call ($(date -u +%FT%TZ), $(basename "$BIN"), proxy workers $WORKERS, $CONNECTIONS connections, ${DURATION}s, load $(cut -d' ' -f1-3 /proc/loadavg))"
measure nginx "$NGINX_WORKER" "http://127.0.0.1:$NGINX_PORT/api/bench"
measure tessera "$PROXY_PID" "http://127.0.0.1:$PROXY_PORT/api/bench"
for h in "${HOPS[@]}"; do measure "hop-$h" "${HOP_PIDS[$h]}" "http://127.0.0.1:${HOP_PORTS[$h]}/api/bench"; done
