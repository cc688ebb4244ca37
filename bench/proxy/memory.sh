# shellcheck shell=bash
# bench/proxy/memory.sh — sourced by bench/proxy.sh: issue 11's P6, the cached proxy's memory
# with NTOKENS distinct tokens cached.
#
# memory_pass: mints NTOKENS tokens through the broker (bench/mint.lua: wrk posts
# client_credentials and writes each access_token), checks they are distinct, drives each once
# through the cached proxy (bench/drive.lua, in order: the fill, NTOKENS misses) and a second
# time (all hits: the cache held them). VmRSS is read before (after the throughput runs), after
# the fill and after the second pass. Sets RSS_BEFORE RSS_FILLED RSS_AGAIN HWM MINT_SECS
# FILL_SECS AGAIN_SECS FILL_MISSES FILL_HITS AGAIN_MISSES AGAIN_HITS MEM_SECS MEM_DONE.

# wrk_until NAME SCRIPT URL DONE_FILE: runs wrk (at most MEM_TIMEOUT s) until the script creates
# DONE_FILE; wrk's main thread would otherwise sleep for all of -d. Sets SECS.
wrk_until() {
  local name="$1" script="$2" url="$3" done_file="$4" t0 bad
  t0="$(date +%s.%N)"
  taskset -c 1 wrk -t1 "-c$CONNECTIONS" "-d${MEM_TIMEOUT}s" -s "$script" "$url" > "$WORK/$name.txt" 2>&1 &
  WRK_PID=$!
  while kill -0 "$WRK_PID" 2>/dev/null && [ ! -e "$done_file" ]; do sleep 0.05; done
  kill -INT "$WRK_PID" 2>/dev/null || true
  wait "$WRK_PID" || true
  WRK_PID=""
  SECS="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  [ -e "$done_file" ] || { cat "$WORK/$name.txt" >&2; die "$name did not finish within ${MEM_TIMEOUT}s"; }
  bad="$(awk -F': ' '/^non-200 responses:/ { print $2 }' "$WORK/$name.txt")"
  [ "${bad:-x}" = "0" ] || { cat "$WORK/$name.txt" >&2; die "$name: non-200 responses ($bad)"; }
}

drive() { # drive NAME: every token once through the cached proxy
  rm -f "$WORK/$1.done"
  BENCH_DONE_FILE="$WORK/$1.done" BENCH_PATH="$URL_PATH" \
    wrk_until "$1" bench/drive.lua "http://127.0.0.1:$CACHE_PORT" "$WORK/$1.done"
}

memory_pass() {
  local t0 distinct h0 m0 h1 m1 h2 m2
  t0="$(date +%s.%N)"
  RSS_BEFORE="$(rss_kib "$CACHE_PID")"
  export BENCH_TOKEN_FILE="$WORK/tokens.txt" BENCH_MINT_COUNT="$NTOKENS"
  log "minting $NTOKENS tokens (client_credentials) through the broker"
  wrk_until mint bench/mint.lua "$BASE/token" "$BENCH_TOKEN_FILE.done"
  MINT_SECS="$SECS"
  distinct="$(sort -u "$BENCH_TOKEN_FILE" | wc -l)"
  [ "$distinct" -eq "$NTOKENS" ] || die "minted $distinct distinct tokens, expected $NTOKENS"
  log "$distinct distinct tokens in ${MINT_SECS}s"

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
  rm -f "$BENCH_TOKEN_FILE"
  MEM_SECS="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')"
  MEM_DONE=1
}
