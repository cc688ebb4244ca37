#!/usr/bin/env bash
# Benchmark helper (not a test): a native CPU profile of the proxy (software `cpu-clock`
# sampling, which works where hardware counters do not), to set beside bench/percall.sh's
# callgrind counts: callgrind runs SHA-256 in software (valgrind hides SHA-NI) and counts
# `rep stosb` per byte, so its shares of hashing and zeroing are not the CPU's.
#
#   bash bench/profile.sh                                  # this checkout's release binary
#   TESSERA_BIN=/tmp/old/tessera CACHE=true bash bench/profile.sh
#   CALLGRAPH=dwarf CACHE=true bash bench/profile.sh    # also inclusive (children) shares
#   HOP=app bash bench/profile.sh     # the bare hop of bench/hop instead (HOP=h1: its actix-http
#                                     # server, HOP=hyper: hyper's own server), in front of the
#                                     # same echo backend, same token
#
# Starts Redis, a broker, the echo backend and a one-worker proxy (CACHE=false by default: a
# store lookup per call; analytics on), warms up, then drives it with wrk (127.0.0.1 only,
# DURATION seconds, CONNECTIONS connections) while `perf record -e cpu-clock -F 2999` samples
# the proxy for SECONDS, and prints the top TOP symbols by self time (`perf report
# --no-children --sort symbol`). Shares of the process's own samples mean something even on a
# busy machine; the requests/s wrk prints do not.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. "$ROOT/bench/lib.sh"

CACHE="${CACHE:-false}"
CONNECTIONS="${CONNECTIONS:-16}"
SECONDS_SAMPLED="${SECONDS_SAMPLED:-10}"
DURATION="${DURATION:-12}"
TOP="${TOP:-45}"
bench_binary
command -v perf >/dev/null || die "perf is needed (apt-get install linux-perf)"
command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"
bench_clean_env

bench_workdir profile
start() { local name="$1"; shift; "$@" > "$WORK/$name.log" 2>&1 & STARTED_PID=$!; PIDS+=("$STARTED_PID"); }
ready() { wait_ready 600 "$@"; }

bench_proxy_stack
if [ -n "${HOP:-}" ]; then
  # The bare hop (bench/hop) in the proxy's place: the same echo backend, calls and token.
  bench_hop_binary
  port="$(free_port)"
  # shellcheck disable=SC2046 # hop_env is words on purpose
  start hop env $(hop_env "$HOP" "$port") "$HOP_BIN"
  PROXY_PID=$STARTED_PID BIN="$HOP_BIN" URL="http://127.0.0.1:$port/api/bench"
  ready "$URL"
fi

wrk -t1 -c"$CONNECTIONS" -d3s -H "Authorization: Bearer $TOKEN" "$URL" > /dev/null
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "$URL" > "$WORK/wrk.out" &
WRK_PID=$!
sleep 1
CG_OPT=(-g); [ -n "${CALLGRAPH:-}" ] && CG_OPT=(--call-graph "$CALLGRAPH")
perf record -q -e cpu-clock -F 2999 "${CG_OPT[@]}" -o "$WORK/perf.data" -p "$PROXY_PID" -- sleep "$SECONDS_SAMPLED" 2> "$WORK/perf.err" || die "perf record failed: $(cat "$WORK/perf.err")"
wait "$WRK_PID"
grep -E 'Requests/sec|Non-2xx' "$WORK/wrk.out" || true
report() { perf report -i "$WORK/perf.data" --no-children --stdio -g none "$@" 2> /dev/null | sed 's/[ -]*$//'; }
# CPU per call: samples are 1/FREQ s of the proxy on a CPU; calls in the sampled window from
# wrk's rate. Per-call CPU holds on a busy machine far better than requests/s do.
RPS="$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/wrk.out")"
DSO="$(basename "$BIN")"
report --sort dso --show-nr-samples | awk -v rps="$RPS" -v s="$SECONDS_SAMPLED" -v dso="$DSO" '
  /^ +[0-9.]+%/ { if ($3 == "[kernel.kallsyms]") k += $2; else if ($3 == dso) b += $2; else o += $2 }
  END { per = 1e6 / 2999 / (rps * s)
        printf "proxy CPU per call: %.2f us (its own code %.2f, libraries %.2f, kernel %.2f)\n", (b + o + k) * per, b * per, o * per, k * per }'
echo "samples: $(report --sort dso | grep -E '^ +[0-9.]+%' | sed 's/^ *//' | tr '\n' ';' | sed 's/  */ /g')"
echo "top symbols (self, % of the proxy's samples; [k] kernel, [.] user space):"
report --sort symbol | grep -E '^ +[0-9.]+%' | head -n "$TOP" || true
if [ -n "${CALLGRAPH:-}" ]; then
  # With unwound stacks: each symbol's share including what it calls (the kernel's included).
  echo "top symbols including callees (children, % of the proxy's samples):"
  perf report -i "$WORK/perf.data" --children --stdio -g none --sort symbol 2> /dev/null \
    | sed 's/[ -]*$//' | grep -E '^ +[0-9.]+%' | head -n "$TOP"
fi
