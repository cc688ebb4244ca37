# shellcheck shell=bash
# bench/proxy/flood.sh — sourced by bench/proxy.sh: issue 11's P5, what a flood of refused
# tokens costs Redis. wrk floods the cached proxy (cache on, analytics on) for FLOOD_DURATION s
# with a new random token per call (bench/flood.lua): `malformed` (wrong checksum: refused by the
# format check) and `unknown` (well-formed, never issued: it reached the token lookup until the
# keyed tags of issue 11 P5; now its forged tag refuses it before the lookup).
#
# flood KIND: Redis INFO commandstats from before the flood to after the analytics writer went
# quiet (no XADD for 1 s, at most FLOOD_DRAIN_MAX s), so the backlog written after the flood is
# counted. Also: the answers/s and call count (wrk), the proxy's 401s and store lookups (its
# /metrics), the analytics events it dropped (queue full), how long after the flood the stream
# still grew, and wrk's own CPU use (bash `time`) — near 100 % the flood was generator-bound.
# Writes $WORK/flood-KIND.res: key=value lines for the report.

# status_total STATUS_PORT [STATUS]: the proxy's requests_total summed (over one status)
status_total() {
  curl -s -m 10 "http://127.0.0.1:$1/metrics" | awk -v s="${2:-}" '
    /^tessera_proxy_requests_total\{/ && (s == "" || index($0, "status=\"" s "\"")) { n += $NF }
    END { printf "%.0f", n + 0 }'
}

flood() {
  local kind="$1" out="$WORK/flood-$1.txt" url="http://127.0.0.1:$CACHE_PORT$URL_PATH"
  local m0 m1 d0 d1 a0 a1 r0 r1 t_end reqs non2xx rps errors TIMEFORMAT='%U %S %R'
  xadd_settle "$REDIS_PORT" 1 "$FLOOD_DRAIN_MAX"
  cmdstats "$REDIS_PORT" "$WORK/flood.before"
  m0="$(metric "$CACHE_STATUS" token_cache_misses_total)"; d0="$(metric "$CACHE_STATUS" analytics_dropped_total)"
  a0="$(status_total "$CACHE_STATUS" 401)"; r0="$(status_total "$CACHE_STATUS")"
  log "flood ($kind tokens): taskset -c 1 wrk -t1 -c$CONNECTIONS -d${FLOOD_DURATION}s -s bench/flood.lua $url"
  if ! { time BENCH_FLOOD_KIND="$kind" BENCH_PATH="$URL_PATH" \
    taskset -c 1 wrk -t1 "-c$CONNECTIONS" "-d${FLOOD_DURATION}s" -s bench/flood.lua "$url" > "$out" 2>&1; } 2> "$WORK/flood-$kind.time"; then
    cat "$out" >&2; die "wrk failed (flood $kind)"
  fi
  alive "proxy tessera-cache" "$CACHE_PID" "after the $kind flood"
  xadd_settle "$REDIS_PORT" 1 "$FLOOD_DRAIN_MAX"
  t_end="$SETTLE_LAST"
  [ -z "$SETTLE_TIMEOUT" ] || FAILED+="flood $kind: the analytics stream still grew ${FLOOD_DRAIN_MAX}s after the flood; "
  cmdstats "$REDIS_PORT" "$WORK/flood.after"
  m1="$(metric "$CACHE_STATUS" token_cache_misses_total)"; d1="$(metric "$CACHE_STATUS" analytics_dropped_total)"
  a1="$(status_total "$CACHE_STATUS" 401)"; r1="$(status_total "$CACHE_STATUS")"
  reqs="$(awk '/ requests in / { print $1; exit }' "$out")"
  non2xx="$(awk -F': *' '/Non-2xx or 3xx responses/ { print $2; exit }' "$out")"
  rps="$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")"
  errors="$(grep -m1 'Socket errors' "$out" | sed 's/^ *Socket errors: *//' || true)"
  sed 's/^/    /' "$out" >&2
  {
    echo "rps=$rps"
    echo "calls=$reqs"
    echo "refused=${non2xx:-0}"
    echo "proxy_401=$(( a1 - a0 ))"
    echo "proxy_other=$(( (r1 - r0) - (a1 - a0) ))"
    echo "socket_errors=${errors:-none}"
    echo "lookups=$(( ${m1%.*} - ${m0%.*} ))"
    echo "dropped=$(( ${d1%.*} - ${d0%.*} ))"
    echo "drain_secs=$t_end"
    for c in all xadd evalsha get; do echo "$c=$(cmd_delta "$WORK/flood.before" "$WORK/flood.after" "$c")"; done
    echo "top=$(cmd_top "$WORK/flood.before" "$WORK/flood.after" 5)"
    echo "wrk_cpu=$(awk '{ if ($3 > 0) printf "%.0f", 100 * ($1 + $2) / $3; else print "?" }' "$WORK/flood-$kind.time")"
  } > "$WORK/flood-$kind.res"
  [ "${reqs:-0}" -gt 0 ] || FAILED+="flood $kind: no calls; "
  [ "${non2xx:-0}" = "$reqs" ] || FAILED+="flood $kind: $reqs calls but ${non2xx:-0} refused; "
  [ "$(( (r1 - r0) - (a1 - a0) ))" -eq 0 ] || FAILED+="flood $kind: the proxy answered $(( (r1 - r0) - (a1 - a0) )) calls with another status than 401; "
  flood_check_samples "$kind"
}
flood_res() { awk -F= -v k="$2" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$WORK/flood-$1.res"; }

# flood_check_samples KIND: the generator's sample tokens have (unknown) or lack (malformed) a
# valid checksum by an independent implementation, and the proxy refuses one with 401 (a
# malformed one without a store lookup; whether an unknown one is looked up is the proxy's
# business: a negative cache may answer it).
flood_check_samples() {
  local kind="$1" sample verdict m0 m1 code
  sample="$(awk '/^sample: / { print $2; exit }' "$WORK/flood-$kind.txt")"
  [ -n "$sample" ] || { FAILED+="flood $kind: no sample token; "; return; }
  verdict="$(python3 - "$sample" <<'PY'
import base64, re, sys, zlib
t = sys.argv[1]
ok = (len(t) == 56 and t.startswith("tsr_at_") and re.fullmatch(r"[A-Za-z0-9_-]+", t[7:]) is not None
      and base64.urlsafe_b64encode(zlib.crc32(t[:50].encode()).to_bytes(4, "big")).decode().rstrip("=") == t[50:])
print("unknown" if ok else "malformed")
PY
)"
  [ "$verdict" = "$kind" ] || FAILED+="flood $kind: the generator's tokens are $verdict by shared/src/token.rs's format; "
  m0="$(metric "$CACHE_STATUS" token_cache_misses_total)"
  code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $sample" "http://127.0.0.1:$CACHE_PORT$URL_PATH")"
  m1="$(metric "$CACHE_STATUS" token_cache_misses_total)"
  [ "$code" = "401" ] || FAILED+="flood $kind: a sample token got HTTP $code (expected 401); "
  echo "sample_lookups=$(( ${m1%.*} - ${m0%.*} ))" >> "$WORK/flood-$kind.res"
  if [ "$kind" = malformed ] && [ "$(( ${m1%.*} - ${m0%.*} ))" -ne 0 ]; then
    FAILED+="flood malformed: a malformed token was looked up in the store; "
  fi
}
