# bench/lib.sh — helpers shared by the benchmark scripts (sourced, not run).

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
# PEPPER and BASE. EXTRA_TOML is appended as is.
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
level = "warn"

# One client, one user and one address hammer the endpoints: the limits are out of the way, but
# still checked (each request pays the limiter's Redis round trip, as in production).
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
}
