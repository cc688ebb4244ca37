# bench/lib.sh — helpers shared by the benchmark scripts (sourced, not run).

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# work_cleanup: the EXIT trap of the scripts that keep their processes in PIDS and their files in
# WORK (every script here but proxy.sh and broker.sh): stops PIDS in reverse order, removes WORK unless
# KEEP_WORK is set.
work_cleanup() {
  local i p
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
# wait_ready TRIES URL [PATTERN]: until URL answers (and its body matches PATTERN), TRIES tenths
# of a second at most.
wait_ready() {
  local tries="$1"; shift
  for _ in $(seq "$tries"); do
    if curl -s -m 5 -o "$WORK/ready.out" "$1" && { [ -z "${2:-}" ] || grep -Eq "$2" "$WORK/ready.out"; }; then return 0; fi
    sleep 0.1
  done
  die "$1 not ready"
}
# redis_start: a redis-server on a free port of 127.0.0.1 (REDIS_PORT) through the script's own
# `start NAME CMD...`, once it answers PING.
redis_start() {
  REDIS_PORT="$(free_port)"
  start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK"
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
random_chars() {
  python3 -c 'import secrets,string; a=string.ascii_letters+string.digits; print("".join(secrets.choice(a) for _ in range(40)))'
}
json_get() { # json_get EXPR < json   (EXPR is a Python expression over `d`)
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# wrk latency like "1.23ms" / "456.00us" / "1.02s" / "2.00m" -> milliseconds
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else { printf "?" }
  }'
}

# write_broker_config FILE REDIS_PORT [EXTRA_TOML] — a one-worker broker on a free port of
# 127.0.0.1 over that Redis, with fresh admin token and pepper; sets BROKER_PORT, ADMIN_TOKEN,
# PEPPER and BASE. EXTRA_TOML is appended as is. INTROSPECTION_CACHE=0 turns the broker's
# introspection cache off. BROKER_LOG_LEVEL sets `log.level` (default `warn`; the product's
# default is `info`: one span and one log line per request).
write_broker_config() {
  BROKER_PORT="$(free_port)"
  ADMIN_TOKEN="$(random_chars)"
  PEPPER="$(random_chars)"
  BASE="http://127.0.0.1:$BROKER_PORT"
  cat > "$1" <<EOF
[server]
listen = "127.0.0.1:$BROKER_PORT"
status_listen = "127.0.0.1:0"
issuer = "$BASE"
workers = 1

[store]
url = "redis://127.0.0.1:$2"

[admin]
token = "$ADMIN_TOKEN"

[security]
pepper = "$PEPPER"

[log]
level = "${BROKER_LOG_LEVEL:-warn}"

# One client, one user and one address hammer the endpoints: the limits are out of the way, but
# still checked, as in production: per request where a rate is low, and for the per-app limits
# (token, introspect, revoke) in leases of up to 64 requests per script call (limits.lease_ms).
[limits]
token = { rate = "1000000ps", burst = 1000000 }
introspect = { rate = "1000000ps", burst = 1000000 }
revoke = { rate = "1000000ps", burst = 1000000 }
password_per_ip = { rate = "1000000ps", burst = 1000000 }
password_per_username = { rate = "1000000ps", burst = 1000000 }
authorize_per_ip = { rate = "1000000ps", burst = 1000000 }
callback_per_ip = { rate = "1000000ps", burst = 1000000 }
pending_logins_per_ip = 100000000
pending_logins_total = 100000000
codes_per_ip = 100000000
codes_total = 100000000
${3:-}
EOF
  # INTROSPECTION_CACHE=0: every introspection reads the store (the path before issue 11, P4).
  if [ "${INTROSPECTION_CACHE:-1}" = "0" ]; then
    printf '\n[introspection_cache]\nenabled = false\n' >> "$1"
  fi
}

# write_proxy_config FILE PORT STORE CACHE ANALYTICS [MAX_ENTRIES] — the benchmarked proxy: one
# worker on 127.0.0.1:PORT over the store STORE (the body of [store], e.g. `url = "redis://..."`)
# with PEPPER, its token cache on or off (CACHE: true/false; entries kept up to an hour, at most
# MAX_ENTRIES when given) and analytics on or off (ANALYTICS), routing /api to the echo backend
# on ECHO_PORT with Tessera tokens.
write_proxy_config() {
  cat > "$1" <<EOF
[server]
listen = "127.0.0.1:$2"
workers = 1

[store]
$3

[security]
pepper = "$PEPPER"

[cache]
enabled = $4
${6:+max_entries = $6
}max_ttl_secs = 3600

[analytics]
enabled = $5

[log]
level = "warn"

[[routes]]
name = "bench"
path = "/api"
upstream = "http://127.0.0.1:$ECHO_PORT/api"

[routes.auth]
kind = "tessera"
EOF
}

# ---------------------------------------------------------------------------- Redis command counts
# cmdstats PORT FILE: Redis's per-command call counts (`INFO commandstats`) as "command calls"
# lines (lower case, e.g. "xadd 1234") in FILE.
cmdstats() {
  redis-cli -h 127.0.0.1 -p "$1" info commandstats 2>/dev/null | tr -d '\r' \
    | awk -F'[:=,]' '/^cmdstat_/ { sub(/^cmdstat_/, "", $1); print $1, $3 }' > "$2"
}
# cmd_delta BEFORE AFTER CMD: calls of CMD between two cmdstats files; CMD "all" sums every
# command except INFO (the scripts read these counters with INFO; the proxies' memory-pressure
# check adds at most one INFO a second each).
cmd_delta() {
  awk -v c="$3" '
    FNR == NR { before[$1] = $2; next }
    (c == "all" && $1 != "info") || $1 == c { n += $2 - before[$1] }
    END { print n + 0 }' "$1" "$2"
}
# cmd_top BEFORE AFTER N: the N commands with the most calls between the two files, "cmd=calls".
cmd_top() {
  awk 'FNR == NR { before[$1] = $2; next } $1 != "info" && $2 - before[$1] > 0 { print $2 - before[$1], $1 }' "$1" "$2" \
    | sort -rn | head -n "$3" | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }'
}
xadd_calls() {
  redis-cli -h 127.0.0.1 -p "$1" info commandstats 2>/dev/null | tr -d '\r' \
    | awk -F'[:=,]' '$1 == "cmdstat_xadd" { n = $3 } END { print n + 0 }'
}
# xadd_settle PORT QUIET_SECS MAX_SECS: waits until no XADD reached Redis for QUIET_SECS (the
# proxies' analytics writers are idle), at most MAX_SECS. Sets SETTLE_LAST: seconds from the
# call to the last XADD seen (0 when there was none), and SETTLE_TIMEOUT=1 when MAX_SECS ran out.
xadd_settle() {
  local port="$1" quiet="$2" max="$3" t0 now last_change n prev
  t0="$(date +%s.%N)"; last_change="$t0"; prev="$(xadd_calls "$port")"
  SETTLE_LAST=0; SETTLE_TIMEOUT=""
  while :; do
    sleep 0.1
    now="$(date +%s.%N)"
    n="$(xadd_calls "$port")"
    if [ "$n" != "$prev" ]; then
      prev="$n"; last_change="$now"
      SETTLE_LAST="$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.1f", b - a }')"
    fi
    awk -v a="$last_change" -v b="$now" -v q="$quiet" 'BEGIN { exit !(b - a >= q) }' && return 0
    awk -v a="$t0" -v b="$now" -v m="$max" 'BEGIN { exit !(b - a >= m) }' && { SETTLE_TIMEOUT=1; return 0; }
  done
}
# per_call N CALLS: N / CALLS with 3 decimals ("?" when CALLS is 0)
per_call() { awk -v n="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.3f", n / c; else printf "?" }'; }

# bench_app: a developer and a client_credentials app (scope `read`) through the admin API of the
# broker at $BASE (admin token $ADMIN_TOKEN; responses kept in $WORK); sets CLIENT_ID,
# CLIENT_SECRET and exports BENCH_BASIC_AUTH (the wrk scripts' `Authorization` value).
bench_app() {
  curl -s -o "$WORK/dev.json" -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data '{"email":"bench@example.com","first_name":"B","last_name":"B"}' "$BASE/admin/developers"
  DEV_ID="$(json_get 'd["id"]' < "$WORK/dev.json")"
  curl -s -o "$WORK/app.json" -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data '{"name":"bench","scopes":["read"],"grant_types":["client_credentials"]}' "$BASE/admin/developers/$DEV_ID/apps"
  CLIENT_ID="$(json_get 'd["credentials"][0]["client_id"]' < "$WORK/app.json")"
  CLIENT_SECRET="$(json_get 'd["credentials"][0]["client_secret"]' < "$WORK/app.json")"
  export BENCH_BASIC_AUTH="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
}

# bench_binary: BIN is TESSERA_BIN or this checkout's release binary, and must exist.
bench_binary() {
  BIN="${TESSERA_BIN:-$ROOT/target/release/tessera}"
  [ -x "$BIN" ] || die "no binary at $BIN (cargo build --release)"
}
# bench_clean_env: no TESSERA_* variable of the caller's reaches the servers started here.
bench_clean_env() {
  while IFS= read -r v; do unset "$v"; done < <(env | awk -F= '/^TESSERA_/ { print $1 }')
}
# bench_workdir NAME: a new temporary directory in $WORK and an empty PIDS; on exit,
# work_cleanup stops every process in PIDS (newest first) and removes the directory.
bench_workdir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/tessera-$1.XXXXXX")"
  PIDS=()
  trap work_cleanup EXIT
}

# bench_proxy_stack: Redis, an echo backend, a broker with the bench app and a one-worker proxy
# (token cache as $CACHE, analytics on) in front of it, ready; needs the calling script's
# `start` and `ready`. Sets REDIS_PID, TOKEN (a client_credentials token), PROXY_PID, STATUS
# (the proxy's status port) and URL (the proxied bench route).
bench_proxy_stack() {
  redis_start
  REDIS_PID=$STARTED_PID
  write_broker_config "$WORK/broker.toml" "$REDIS_PORT" '[tokens]
access_token_ttl_secs = 3600'
  ECHO_PORT="$(free_port)"
  start echo "$BIN" echo --listen "127.0.0.1:$ECHO_PORT" --workers 1
  start broker "$BIN" broker --config "$WORK/broker.toml"
  ready "$BASE/readyz"
  bench_app
  TOKEN="$(curl -s -X POST -H "Authorization: $BENCH_BASIC_AUTH" --data 'grant_type=client_credentials' "$BASE/token" | json_get 'd["access_token"]')"
  local port; port="$(free_port)"; STATUS="$(free_port)"
  write_proxy_config "$WORK/proxy.toml" "$port" "url = \"redis://127.0.0.1:$REDIS_PORT\"" "$CACHE" true
  start proxy "$BIN" proxy --config "$WORK/proxy.toml" --status "127.0.0.1:$STATUS"
  PROXY_PID=$STARTED_PID
  ready "http://127.0.0.1:$STATUS/readyz" '"revocation_channel": *true'
  URL="http://127.0.0.1:$port/api/bench"
}

# bench_hop_binary: HOP_BIN is the bare forwarding hop (bench/hop, issue 11 P1's ceiling): the
# caller's HOP_BIN, else this checkout's, built first (its own workspace and Cargo.lock, into the
# checkout's target directory; a no-op when up to date).
bench_hop_binary() {
  if [ -z "${HOP_BIN:-}" ]; then
    log "cargo build --release --locked --manifest-path bench/hop/Cargo.toml"
    cargo build --release --locked --quiet --manifest-path "$ROOT/bench/hop/Cargo.toml" \
      --target-dir "${CARGO_TARGET_DIR:-$ROOT/target}" >&2
    HOP_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera-hop"
  fi
  [ -x "$HOP_BIN" ] || die "no hop binary at $HOP_BIN"
}
# hop_env SERVER PORT: the environment of a one-worker hop (SERVER `app` or `h1`) on 127.0.0.1:PORT
# in front of the echo backend on ECHO_PORT, for `env $(hop_env …) CMD`.
hop_env() {
  printf 'HOP_SERVER=%s HOP_LISTEN=127.0.0.1:%s HOP_BACKEND=127.0.0.1:%s HOP_WORKERS=1' "$1" "$2" "$ECHO_PORT"
}
