# shellcheck shell=bash
# bench/proxy/report.sh — sourced by bench/proxy.sh: writes the report (Markdown) to stdout from
# the run's files and variables. Figures per target are medians over the ROUNDS rounds
# (bench/proxy/rounds.sh); ratios to the nginx hop are per round, then their median.

verdict() { # verdict VALUE OP AIM -> met / missed
  awk -v v="$1" -v op="$2" -v aim="$3" 'BEGIN {
    if (v == "?" || v == "") { print "?"; exit }
    ok = (op == ">=") ? (v + 0 >= aim + 0) : (v + 0 <= aim + 0)
    print (ok ? "met" : "missed")
  }'
}
fmt2() { awk -v v="$1" 'BEGIN { if (v == "?") print "?"; else printf "%.2f", v }'; }
fmt0() { awk -v v="$1" 'BEGIN { if (v == "?") print "?"; else printf "%.0f", v }'; }

report_row() { # report_row NAME
  local n="$1" dp99
  dp99="$(med_dp99 "$n")"
  [ "$n" = nginx ] && dp99=0
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${T_LABEL[$n]}" "$(fmt0 "$(med_rps "$n")")" \
    "$(spread "$n")" "$(med_pct "$n" 50)" "$(med_pct "$n" 99)" "$(fmt2 "$(med_ratio "$n")")" \
    "$(awk -v v="$dp99" 'BEGIN { printf "%+.3f", v }')" "$(redis_per_call "$n" 2)" "$(cpu_avg "$n")"
}

report_redis() {
  local n
  printf '| target | all commands | XADD | EVALSHA | GET | most frequent (per call) |\n|---|---:|---:|---:|---:|---|\n'
  for n in "${T_NAMES[@]}"; do
    case "$n" in echo|nginx|nginx-defaults|peer-defaults|hop|hop-h1) continue;; esac
    printf '| %s | %s | %s | %s | %s | %s |\n' "${T_LABEL[$n]}" "$(redis_per_call "$n" 2)" \
      "$(redis_per_call "$n" 3)" "$(redis_per_call "$n" 4)" "$(redis_per_call "$n" 5)" "$(redis_top "$n")"
  done
}

report_flood() {
  local k calls
  printf '| flood (new random token per call) | answers/s | calls | 401 | store lookups | Redis commands / refused call: all | XADD | EVALSHA | GET | stream grew after the flood for | analytics events dropped | wrk CPU | socket errors |\n'
  printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
  for k in malformed unknown; do
    [ -s "$WORK/flood-$k.res" ] || continue
    calls="$(flood_res "$k" calls)"
    printf '| %s | %s | %s | %s | %s | **%s** | %s | %s | %s | %s s | %s | %s%% | %s |\n' \
      "$([ "$k" = malformed ] && echo 'malformed (wrong checksum)' || echo 'unknown, well-formed (valid checksum)')" \
      "$(fmt0 "$(flood_res "$k" rps)")" "$calls" "$(flood_res "$k" proxy_401)" "$(flood_res "$k" lookups)" \
      "$(per_call "$(flood_res "$k" all)" "$calls")" "$(per_call "$(flood_res "$k" xadd)" "$calls")" \
      "$(per_call "$(flood_res "$k" evalsha)" "$calls")" "$(per_call "$(flood_res "$k" get)" "$calls")" \
      "$(flood_res "$k" drain_secs)" "$(flood_res "$k" dropped)" "$(flood_res "$k" wrk_cpu)" "$(flood_res "$k" socket_errors)"
  done
  printf '\nCommands per refused call: INFO commandstats deltas (every command but INFO) from before the flood\n'
  printf 'until the analytics writer went quiet (no XADD for 1 s), divided by the calls wrk completed. Most\n'
  printf 'frequent commands (calls over the flood and the drain): malformed %s; unknown %s. wrk CPU: its user + system\n' \
    "$(flood_res malformed top 2>/dev/null || true)" "$(flood_res unknown top 2>/dev/null || true)"
  printf 'time over the flood (100%% = CPU 1 fully used by wrk: the flood was limited by the load generator).\n'
}

report_aims() {
  local c_ratio c_dp99 n_ratio n_peer="?" f
  c_ratio="$(fmt2 "$(med_ratio tessera-cache)")"
  c_dp99="$(med_dp99 tessera-cache)"
  n_ratio="$(fmt2 "$(med_ratio tessera-nocache)")"
  printf 'Aims of issue 11 (same run; ratios are medians of the per-round ratios):\n\n'
  printf '| aim | measured | |\n|---|---:|---|\n'
  printf '| P1: cache on, analytics on ≥ 1.0× the nginx hop | %s× | %s |\n' "$c_ratio" "$(verdict "$c_ratio" '>=' 1.0)"
  printf '| P1: cache on, analytics on, p99 within +1 ms of the hop | %+.3f ms | %s |\n' "$c_dp99" "$(verdict "$c_dp99" '<=' 1.0)"
  if [ -n "$PEER_ON" ]; then
    n_peer="$(each_round ratio_two tessera-nocache peer | median)"
    printf '| P2: cache off ≥ 5× the nginx auth_request + introspection peer (subrequests kept alive, like the hop) | %s× | %s |\n' "$(fmt2 "$n_peer")" "$(verdict "$n_peer" '>=' 5)"
    n_peer="$(each_round ratio_two tessera-nocache peer-defaults | median)"
    printf '| P2: the same against the peer with nginx'"'"'s proxy defaults for the subrequest | %s× | %s |\n' "$(fmt2 "$n_peer")" "$(verdict "$n_peer" '>=' 5)"
  fi
  printf '| P2: cache off ≥ 0.5× the nginx hop | %s× | %s |\n' "$n_ratio" "$(verdict "$n_ratio" '>=' 0.5)"
  for f in malformed unknown; do
    [ -s "$WORK/flood-$f.res" ] || continue
    local per; per="$(per_call "$(flood_res "$f" all)" "$(flood_res "$f" calls)")"
    printf '| P5: Redis commands per refused call ≤ 0.01 (%s tokens) | %s | %s |\n' "$f" "$per" "$(verdict "$per" '<=' 0.01)"
  done
  if [ -s "$WORK/flood-unknown.res" ]; then
    local lk; lk="$(per_call "$(flood_res unknown lookups)" "$(flood_res unknown calls)")"
    printf '| P5: unknown well-formed tokens do not drive a lookup per call (store lookups per call) | %s | %s |\n' "$lk" "$(verdict "$lk" '<=' 0.01)"
  fi
  if [ -n "$MEM_DONE" ]; then
    if [ "$NTOKENS" -ge 1000000 ]; then
      printf '| P6: VmRSS ≤ 128 MiB with 1,000,000 distinct tokens cached | %s MiB | %s |\n' "$(mib "$RSS_FILLED")" "$(verdict "$(mib "$RSS_FILLED")" '<=' 128)"
    else
      printf '| P6: VmRSS ≤ 128 MiB with 1,000,000 tokens cached | %s MiB with %s tokens | n/a (NTOKENS < 1000000) |\n' "$(mib "$RSS_FILLED")" "$NTOKENS"
    fi
  fi
}
# report_ceiling: Tessera against the bare hop of its own stack (bench/hop), per round, then the median.
report_ceiling() {
  local n
  printf '\nThe stack'"'"'s ceiling (bench/hop; requests/s ratios per round, then their median):\n\n'
  printf '| ratio | measured |\n|---|---:|\n'
  printf '| bare hop (actix-web) ÷ nginx hop | %s× |\n' "$(fmt2 "$(med_ratio hop)")"
  case "$HOP" in both|all)
    printf '| bare hop (actix-http) ÷ nginx hop | %s× |\n' "$(fmt2 "$(med_ratio hop-h1)")"
    printf '| bare hop (actix-web) ÷ bare hop (actix-http): the `App` layer | %s× |\n' "$(fmt2 "$(each_round ratio_two hop hop-h1 | median)")";;
  esac
  if [ "$HOP" = all ]; then
    printf '| bare hop (hyper) ÷ nginx hop | %s× |\n' "$(fmt2 "$(med_ratio hop-hyper)")"
    printf '| bare hop (actix-web) ÷ bare hop (hyper): actix against hyper'"'"'s server | %s× |\n' "$(fmt2 "$(each_round ratio_two hop hop-hyper | median)")"
  fi
  for n in tessera-cache tessera-noanalytics tessera-nocache; do
    printf '| %s ÷ bare hop (actix-web) | %s× |\n' "${T_LABEL[$n]}" "$(fmt2 "$(each_round ratio_two "$n" hop | median)")"
  done
}
# report_gateway: the nginx hop doing a gateway's bookkeeping (X-Forwarded-*, an access log line
# per call) — what Tessera's identity headers and analytics are like for like with.
report_gateway() {
  local n
  printf '\nLike for like (nginx hop + `X-Forwarded-*` + a buffered access log of every call; a reference, not the aim):\n\n'
  printf '| ratio | measured |\n|---|---:|\n'
  printf '| nginx gateway hop ÷ nginx hop | %s× |\n' "$(fmt2 "$(med_ratio nginx-gateway)")"
  for n in tessera-cache tessera-noanalytics tessera-nocache; do
    printf '| %s ÷ nginx gateway hop | %s× |\n' "${T_LABEL[$n]}" "$(fmt2 "$(each_round ratio_two "$n" nginx-gateway | median)")"
  done
}
ratio_two() { awk -v a="$(run_rps "$1" "$3")" -v b="$(run_rps "$2" "$3")" 'BEGIN { if (b > 0) printf "%.4f", a / b; else printf "0" }'; }

report_memory() {
  printf 'Memory of the cached proxy (VmRSS; mimalloc; `[cache] max_entries = %s`):\n\n' "$CACHE_MAX_ENTRIES"
  printf '| state | VmRSS (MiB) |\n|---|---:|\n'
  printf '| idle, after start-up | %s |\n' "$(mib "$RSS_IDLE")"
  printf '| after the throughput runs (1 token cached) | %s |\n' "$(mib "$RSS_BEFORE")"
  printf '| **%s distinct tokens cached** | **%s** |\n' "$NTOKENS" "$(mib "$RSS_FILLED")"
  printf '| after a second pass over them (all hits) | %s |\n' "$(mib "$RSS_AGAIN")"
  printf '| peak (VmHWM) | %s |\n\n' "$(mib "$HWM")"
  printf -- '- %.0f bytes per cached token over the state after the throughput runs.\n' \
    "$(awk -v a="$RSS_FILLED" -v b="$RSS_BEFORE" -v n="$NTOKENS" 'BEGIN { print (a - b) * 1024 / n }')"
  printf -- '- Minted through the broker in %s s; fill pass %s s (%s misses, %s hits); second pass %s s\n' \
    "$MINT_SECS" "$FILL_SECS" "$FILL_MISSES" "$FILL_HITS" "$AGAIN_SECS"
  printf '  (%s misses, %s hits). The whole memory pass took %s s.\n' "$AGAIN_MISSES" "$AGAIN_HITS" "$MEM_SECS"
}

report() {
  local n
  printf '## Tessera proxy benchmark — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  printf -- '- Machine: %s CPUs (nproc), %s, kernel %s; load average before the run: %s\n' "$NCPU" "$CPU_MODEL" "$(uname -r)" "$LOAD_BEFORE"
  printf -- '- Commit: %s\n' "$COMMIT"
  [ -n "${TESSERA_BIN:-}" ] && printf -- '- Binary: %s (TESSERA_BIN; not built from this checkout by the script)\n' "$TESSERA_BIN"
  printf -- '- Command: `%s`; total time %s s\n' "$INVOCATION" "$TOTAL_SECS"
  printf -- '- Pinning: redis-server, broker, echo backend, nginx, oidc-provider, proxies, bare hops on CPU 0 (one worker each); wrk on CPU 1\n'
  printf -- '- Load: `taskset -c 1 wrk -t1 -c%s -d%ss --latency -H "Authorization: Bearer <valid token>" URL/api/bench` for every target,\n' "$CONNECTIONS" "$DURATION"
  printf '  %s interleaved rounds (each round runs every target once, in the table'"'"'s order; a %s s warm-up before each target'"'"'s first run)\n' "$ROUNDS" "$WARMUP"
  printf -- '- %s%s\n\n' "$("$NGINX" -v 2>&1 | sed 's|.*: ||')" "${PEER_VERSIONS:+; $PEER_VERSIONS}"
  printf '| target | requests/s (median) | rounds: min–max (spread) | p50 (ms) | p99 (ms) | ÷ nginx hop | p99 − nginx hop (ms) | Redis commands / call | CPU 0 used by (mean) |\n'
  printf '|---|---:|---:|---:|---:|---:|---:|---:|---|\n'
  for n in "${T_NAMES[@]}"; do report_row "$n"; done
  printf '\n'
  report_aims
  [ "$HOP" = 0 ] || report_ceiling
  [ "$GATEWAY" = 0 ] || report_gateway
  printf '\nRedis commands per call over the measured runs (INFO commandstats deltas, each run counted until\n'
  printf 'the analytics writers went quiet, so its own last batch is in; every command but INFO):\n\n'
  report_redis
  printf '\nToken cache over the measured runs: cache on: %s hits, %s misses; cache off: %s store lookups.\n' \
    "$CACHE_HITS_RUN" "$CACHE_MISSES_RUN" "$NOCACHE_LOOKUPS_RUN"
  printf 'CPU 0 used by: CPU time of each server process over each measured run (100%% = the whole core), mean of the rounds.\n'
  if [ -s "$WORK/flood-malformed.res" ] || [ -s "$WORK/flood-unknown.res" ]; then
    printf '\nP5 floods of the cached proxy (cache on, analytics on), %s s each, -c%s:\n\n' "$FLOOD_DURATION" "$CONNECTIONS"
    report_flood
  fi
  if [ -n "$MEM_DONE" ]; then printf '\n'; report_memory; fi
  if [ -n "$PERF_TOP" ]; then
    printf '\n`perf record -g` of the cached proxy for %s s under the same load (self time, top symbols):\n\n```\n%s\n```\n' \
      "$PERF_SECS" "$PERF_TOP"
    printf '\nBy object:\n\n```\n%s\n```\n' "$(cat "$WORK/perf-dso.txt")"
  fi
  if [ -n "$FAILED" ]; then
    printf '\n**ERRORS — these figures are not valid:** %s\n' "$FAILED"
  fi
  printf '\n'
}
