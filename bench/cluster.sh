#!/usr/bin/env bash
# Benchmark (not a test): Tessera on one Redis against Tessera on a local Redis Cluster (3
# masters, 3 replicas), in the same run (issue 12): token issuance (client_credentials),
# introspection, and the proxy's cache-off path (a store lookup per call), as same-run ratios,
# with the cost of each call in Redis commands (INFO commandstats deltas summed over every
# master: what decides how many calls one node carries) and the Redis CPU time each call costs
# (INFO cpu deltas, summed over the masters, and the busiest master's: what limits a cluster).
# Then the revocation channel's two
# candidate designs on the same cluster: cluster-wide PUBLISH against sharded SPUBLISH.
#
#   bash bench/cluster.sh                       # 10 s per run, 2 interleaved rounds
#   DURATION=3 ROUNDS=1 PUBSUB_MESSAGES=20000 bash bench/cluster.sh   # smoke run
#
# Environment:
#   DURATION          seconds per measured wrk run (default 10)
#   ROUNDS            interleaved rounds (single, cluster, single, cluster...; default 2)
#   CONNECTIONS       wrk connections (default 32)
#   PUBSUB_MESSAGES   messages per pub/sub measurement (default 200000)
#   SKIP_BUILD=1      use the existing release binary; TESSERA_BIN: benchmark that binary
#   KEEP_WORK=1       keep the temporary directory (configs, logs, raw wrk output)
#
# Pinning: every server (the single redis-server, the six cluster nodes, broker, proxy, echo
# backend) on CPU 0, one worker each; wrk and redis-benchmark on CPU 1. All traffic is to
# 127.0.0.1. The cluster's six nodes share CPU 0 with everything else here: on this machine a
# cluster cannot be faster than one node (there is no second core for it); what the run shows
# is the client-side cost of the cluster (routing, a connection per node) and the commands per
# call, which are the same on any number of machines.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# free_port, random_chars, json_get, log, die, write_broker_config, write_proxy_config, cmdstats, ...
. "$ROOT/bench/lib.sh"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
PUBSUB_MESSAGES="${PUBSUB_MESSAGES:-200000}"
for v in DURATION ROUNDS CONNECTIONS PUBSUB_MESSAGES; do
  case "${!v}" in ''|*[!0-9]*) echo "$v must be a whole number" >&2; exit 2;; esac
done

for tool in redis-server redis-cli redis-benchmark wrk curl taskset python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required (apt-get install redis-server redis-tools wrk curl util-linux python3)"
done
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (servers on CPU 0, load on CPU 1)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tessera-cluster-bench.XXXXXX")"
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${TESSERA_BIN:-}" ]; then
  BIN="$TESSERA_BIN"
else
  [ -n "${SKIP_BUILD:-}" ] || { log "cargo build --release --bin tessera"; cargo build --release --bin tessera; }
  BIN="$ROOT/target/release/tessera"
fi
[ -x "$BIN" ] || die "$BIN not found"
LOAD_BEFORE="$(uptime)"

start() { # start NAME CMD... (on CPU 0) -> STARTED_PID
  local name="$1"; shift
  taskset -c 0 "$@" > "$WORK/$name.log" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}
wait_http() { # wait_http NAME URL: until 200, 30 s at most
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$2" || true)" = 200 ] && return 0
    sleep 0.1
  done
  die "$1: $2 did not answer 200 within 30 s"
}
redis_node() { # redis_node PORT [ARGS...]
  local port="$1"; shift
  mkdir -p "$WORK/redis-$port"
  start "redis-$port" redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --daemonize no --dir "$WORK/redis-$port" "$@"
  for _ in $(seq 100); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  die "redis-server on $port did not start"
}

# ---------------------------------------------------------------------------- the two stores
SINGLE="$(free_port)"
redis_node "$SINGLE"
CLUSTER_PORTS=()
for _ in 1 2 3 4 5 6; do
  p="$(free_port)"; bus="$(free_port)"
  redis_node "$p" --cluster-enabled yes --cluster-port "$bus" --cluster-node-timeout 5000
  CLUSTER_PORTS+=("$p")
done
log "redis-cli --cluster create (3 masters, 3 replicas) on ${CLUSTER_PORTS[*]}"
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${CLUSTER_PORTS[@]}") --cluster-replicas 1 \
  --cluster-yes > "$WORK/cluster-create.log" 2>&1 || { cat "$WORK/cluster-create.log" >&2; die "cluster create failed"; }
for _ in $(seq 300); do
  ok=1
  for p in "${CLUSTER_PORTS[@]}"; do
    redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' || ok=""
  done
  [ -n "$ok" ] && break
  sleep 0.1
done
[ -n "$ok" ] || die "the cluster did not converge"
MASTERS=()
for p in "${CLUSTER_PORTS[@]}"; do
  redis-cli -p "$p" info replication | grep -q 'role:master' && MASTERS+=("$p")
done
NODES_TOML="$(printf '"redis://127.0.0.1:%s", ' "${CLUSTER_PORTS[@]}" | sed 's/, $//')"

ECHO_PORT="$(free_port)"
start echo "$BIN" echo --listen "127.0.0.1:$ECHO_PORT" --workers 1
wait_http echo "http://127.0.0.1:$ECHO_PORT/"
bench_clean_env

# deploy NAME STORE_TOML: a broker and a cache-off proxy on that store, a client and a token.
# Sets <NAME>_BASE, <NAME>_PROXY, <NAME>_AUTH, <NAME>_TOKEN.
deploy() {
  local name="$1" store="$2"
  write_broker_config "$WORK/$name-broker.toml" 0
  sed -i "s|^url = \"redis://127.0.0.1:0\"|$store|" "$WORK/$name-broker.toml"
  start "$name-broker" "$BIN" broker --config "$WORK/$name-broker.toml"
  wait_http "$name broker" "$BASE/readyz"
  local proxy_port; proxy_port="$(free_port)"
  write_proxy_config "$WORK/$name-proxy.toml" "$proxy_port" "$store" false true
  local status; status="$(free_port)"
  start "$name-proxy" "$BIN" proxy --config "$WORK/$name-proxy.toml" --status "127.0.0.1:$status"
  wait_http "$name proxy" "http://127.0.0.1:$status/readyz"
  local auth="Authorization: Bearer $ADMIN_TOKEN" dev cid secret
  dev="$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
    --data '{"email":"bench@example.com","first_name":"B","last_name":"B"}' "$BASE/admin/developers" | json_get 'd["id"]')"
  curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
    --data '{"name":"bench","scopes":["read"],"grant_types":["client_credentials"]}' \
    "$BASE/admin/developers/$dev/apps" > "$WORK/$name-app.json"
  cid="$(json_get 'd["credentials"][0]["client_id"]' < "$WORK/$name-app.json")"
  secret="$(json_get 'd["credentials"][0]["client_secret"]' < "$WORK/$name-app.json")"
  printf -v "${name}_BASE" '%s' "$BASE"
  printf -v "${name}_PROXY" '%s' "http://127.0.0.1:$proxy_port/api/bench"
  printf -v "${name}_AUTH" '%s' "Basic $(printf '%s:%s' "$cid" "$secret" | base64 -w0)"
  printf -v "${name}_TOKEN" '%s' "$(curl -sf -u "$cid:$secret" -d grant_type=client_credentials "$BASE/token" | json_get 'd["access_token"]')"
}
deploy single "url = \"redis://127.0.0.1:$SINGLE\""
deploy cluster "cluster_nodes = [$NODES_TOML]"
log "single: broker $single_BASE; cluster: broker $cluster_BASE (masters ${MASTERS[*]})"

# ---------------------------------------------------------------------------- runs
# stats TARGET FILE: commandstats summed over the target's masters.
stats() {
  local ports=("$SINGLE"); [ "$1" = cluster ] && ports=("${MASTERS[@]}")
  : > "$2"
  for p in "${ports[@]}"; do cmdstats "$p" "$2.$p"; cat "$2.$p" >> "$2"; done
  awk '{ n[$1] += $2 } END { for (c in n) print c, n[c] }' "$2" > "$2.sum" && mv "$2.sum" "$2"
}
# redis_cpu TARGET: CPU seconds (user + sys) each of the target's masters has used so far,
# one line per master.
redis_cpu() {
  local ports=("$SINGLE"); [ "$1" = cluster ] && ports=("${MASTERS[@]}")
  for p in "${ports[@]}"; do
    redis-cli -p "$p" info cpu | tr -d '\r' \
      | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f\n", s }'
  done
}
# run TARGET WORKLOAD ROUND -> appends "target workload round rps p50 p99 cmds/call
# redis-cpu-us/call hottest-master-cpu-us/call" to results
run() {
  local t="$1" w="$2" r="$3" base auth token url script out="$WORK/$1-$2-$3.txt"
  base="${t}_BASE"; auth="${t}_AUTH"; token="${t}_TOKEN"
  export BENCH_BASIC_AUTH="${!auth}" BENCH_TOKEN="${!token}"
  case "$w" in
    token) url="${!base}/token"; script=(-s bench/token.lua);;
    introspect) url="${!base}/introspect"; script=(-s bench/introspect.lua);;
    proxy) url="$(eval echo "\$${t}_PROXY")"; script=(-H "Authorization: Bearer ${!token}");;
  esac
  stats "$t" "$WORK/before"
  redis_cpu "$t" > "$WORK/cpu-before"
  taskset -c 1 wrk -t1 "-c$CONNECTIONS" "-d${DURATION}s" --latency "${script[@]}" "$url" > "$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed ($t $w)"; }
  redis_cpu "$t" > "$WORK/cpu-after"
  stats "$t" "$WORK/after"
  grep -q 'Non-2xx' "$out" && { cat "$out" >&2; die "$t $w: non-2xx responses"; }
  local n rps p50 p99 cmds us
  n="$(awk '/ requests in / { print $1; exit }' "$out")"
  rps="$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")"
  p50="$(to_ms "$(awk '$1 == "50%" { print $2; exit }' "$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" { print $2; exit }' "$out")")"
  cmds="$(per_call "$(cmd_delta "$WORK/before" "$WORK/after" all)" "$n")"
  # The sum over the masters, and the busiest master's share.
  us="$(paste "$WORK/cpu-before" "$WORK/cpu-after" | awk -v n="$n" '
    { d = $2 - $1; s += d; if (d > m) m = d } END { printf "%.1f %.1f", s * 1e6 / n, m * 1e6 / n }')"
  printf '%s %s %s %s %s %s %s %s\n' "$t" "$w" "$r" "$rps" "$p50" "$p99" "$cmds" "$us" | tee -a "$WORK/results" >&2
}
for r in $(seq "$ROUNDS"); do
  for w in token introspect proxy; do
    for t in single cluster; do run "$t" "$w" "$r"; done
  done
done

# ---------------------------------------------------------------------------- pub/sub
# Two subscribers (two proxies) on different nodes; PUBLISH from a client of a third. Then the
# sharded design: SPUBLISH to the channel's shard, the two subscribers SSUBSCRIBEd there. The
# cost: CPU time summed over all six nodes (INFO cpu), per 1000 messages.
cpu_sum() {
  for p in "${CLUSTER_PORTS[@]}"; do redis-cli -p "$p" info cpu; done | tr -d '\r' \
    | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'
}
pubsub() { # pubsub MODE(publish|spublish) -> "mode msgs/s cpu_ms_per_1000 received"
  local mode="$1" ch="tessera:revocations" sub pub sub_ports
  if [ "$mode" = publish ]; then
    sub="SUBSCRIBE"; pub="PUBLISH"; sub_ports=("${CLUSTER_PORTS[1]}" "${CLUSTER_PORTS[4]}")
  else
    sub="SSUBSCRIBE"; pub="SPUBLISH"
    # The channel's shard: the one master that does not answer MOVED.
    local owner=""
    for p in "${MASTERS[@]}"; do
      redis-cli -p "$p" spublish "$ch" probe | grep -q MOVED || owner="$p"
    done
    [ -n "$owner" ] || die "no master owns the slot of $ch"
    sub_ports=("$owner" "$owner"); PUB_PORT="$owner"
  fi
  local files=()
  for i in 0 1; do
    taskset -c 1 redis-cli -p "${sub_ports[$i]}" "$sub" "$ch" > "$WORK/sub-$mode-$i.txt" 2>&1 &
    PIDS+=("$!"); files+=("$WORK/sub-$mode-$i.txt")
  done
  sleep 0.5
  local port="${PUB_PORT:-${CLUSTER_PORTS[2]}}" c0 c1 t0 t1
  c0="$(cpu_sum)"; t0="$(date +%s.%N)"
  taskset -c 1 redis-benchmark -p "$port" -n "$PUBSUB_MESSAGES" -c 10 -q "$pub" "$ch" "t:0123456789abcdef0123456789abcdef0123456789ab" > "$WORK/pub-$mode.txt" 2>&1 \
    || { cat "$WORK/pub-$mode.txt" >&2; die "redis-benchmark $pub failed"; }
  sleep 1
  t1="$(date +%s.%N)"; c1="$(cpu_sum)"
  local got; got="$(cat "${files[@]}" | grep -c '^t:' || true)"
  # "<COMMAND> <args>: 43103.45 requests per second, p50=…"
  local rps; rps="$(tr '\r' '\n' < "$WORK/pub-$mode.txt" \
    | awk '/requests per second/ { for (i = 2; i <= NF; i++) if ($i == "requests") print $(i - 1) }' | tail -1)"
  printf '%s %s %s %s\n' "$mode" "$rps" \
    "$(awk -v a="$c0" -v b="$c1" -v n="$PUBSUB_MESSAGES" 'BEGIN { printf "%.1f", (b - a) * 1000 / (n / 1000) }')" \
    "$got" | tee -a "$WORK/pubsub" >&2
  unset PUB_PORT
}
pubsub publish
pubsub spublish

# ---------------------------------------------------------------------------- report
LOAD_AFTER="$(uptime)"
python3 - "$WORK/results" "$WORK/pubsub" "$PUBSUB_MESSAGES" <<'PY'
import collections, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = collections.defaultdict(list)
for t, w, r, rps, p50, p99, cmds, us, hot in rows:
    by[(t, w)].append((float(rps), float(p50), float(p99), cmds, float(us), float(hot)))
names = {"token": "token issuance (client_credentials)", "introspect": "introspection",
         "proxy": "proxy, cache off (store lookup per call)"}
print("| workload | single node req/s | cluster req/s | cluster / single | p50 single / cluster (ms) | p99 single / cluster (ms) | Redis commands per call (single / cluster) | Redis CPU µs per call (single / cluster, all masters) | busiest master's share (cluster, µs per call) |")
print("|---|---|---|---|---|---|---|---|---|")
for w in ("token", "introspect", "proxy"):
    s, c = by[("single", w)], by[("cluster", w)]
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    print(f"| {names[w]} | {med(s,0):.0f} | {med(c,0):.0f} | {med(c,0)/med(s,0):.2f} | "
          f"{med(s,1):.2f} / {med(c,1):.2f} | {med(s,2):.2f} / {med(c,2):.2f} | {s[-1][3]} / {c[-1][3]} | "
          f"{med(s,4):.1f} / {med(c,4):.1f} | {med(c,5):.1f} |")
print()
print(f"| revocation channel ({sys.argv[3]} messages, 2 subscribers) | messages/s | cluster CPU ms per 1000 messages | messages received |")
print("|---|---|---|---|")
for l in open(sys.argv[2]):
    mode, rps, cpu, got = l.split()
    label = "PUBLISH (cluster-wide, chosen)" if mode == "publish" else "SPUBLISH (sharded)"
    print(f"| {label} | {rps} | {cpu} | {got} |")
PY
echo
echo "load before: $LOAD_BEFORE"
echo "load after:  $LOAD_AFTER"
