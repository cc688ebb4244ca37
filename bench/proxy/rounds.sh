# shellcheck shell=bash
# bench/proxy/rounds.sh — sourced by bench/proxy.sh: the throughput runs, as ROUNDS interleaved
# rounds over the targets (round-robin: each round runs every target once, in the same order),
# so that a drift of the machine (another process, thermal, the page cache) spreads over every
# target instead of landing on one. Per target the report takes the median over the rounds and
# shows the spread; ratios to the nginx hop are taken within each round, then their median.
#
# add_target NAME LABEL URL "PID:label ..." "AUTH HEADER"   (in run order)
# run_hook_before NAME / run_hook_after NAME (defined by the caller) run right before and after
#   each measured wrk run.
# run_rounds: for each round, each target: [a WARMUP run, first round only], then a measured
#   `wrk -t1 -cCONNECTIONS -dDURATION --latency` on CPU 1. Around each measured run: the CPU time
#   of each listed server process, and Redis's INFO commandstats before the run and after the
#   analytics writers went quiet (xadd_settle), so the run's own last analytics batch is counted
#   with it. Files: $WORK/runs/NAME.rR.{txt,cpu,cmd} (cmd: "requests all xadd evalsha get top").

T_NAMES=(); declare -A T_LABEL T_URL T_PROCS T_AUTH
add_target() {
  T_NAMES+=("$1"); T_LABEL[$1]="$2"; T_URL[$1]="$3"; T_PROCS[$1]="$4"; T_AUTH[$1]="$5"
}

# measure NAME ROUND
measure() {
  local name="$1" r="$2" url="${T_URL[$1]}" procs="${T_PROCS[$1]}" auth="${T_AUTH[$1]}"
  local out="$WORK/runs/$name.r$r.txt" p pid before=() i reqs
  if [ "$r" -eq 1 ] && [ "$WARMUP" -gt 0 ]; then
    taskset -c 1 wrk -t1 "-c$CONNECTIONS" "-d${WARMUP}s" -H "$auth" "$url" > "$WORK/runs/$name.warmup.txt" 2>&1 \
      || { cat "$WORK/runs/$name.warmup.txt" >&2; die "wrk warm-up failed ($name)"; }
  fi
  xadd_settle "$REDIS_PORT" 0.5 30
  cmdstats "$REDIS_PORT" "$WORK/runs/cmd.before"
  run_hook_before "$name"
  for p in $procs; do before+=("$(cpu_ticks "${p%%:*}")"); done
  log "round $r/$ROUNDS: taskset -c 1 wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -H 'Authorization: Bearer …' $url  ($name)"
  taskset -c 1 wrk -t1 "-c$CONNECTIONS" "-d${DURATION}s" --latency -H "$auth" "$url" > "$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed ($name)"; }
  run_hook_after "$name"
  i=0; : > "$WORK/runs/$name.r$r.cpu"
  for p in $procs; do
    pid="${p%%:*}"
    awk -v a="${before[$i]}" -v b="$(cpu_ticks "$pid")" -v hz="$CLK_TCK" -v d="$DURATION" -v l="${p#*:}" \
      'BEGIN { printf "%s %.0f\n", l, 100 * (b - a) / hz / d }' >> "$WORK/runs/$name.r$r.cpu"
    alive "$name process ${p#*:}" "$pid" "after the $name run"
    i=$((i + 1))
  done
  xadd_settle "$REDIS_PORT" 0.5 30
  cmdstats "$REDIS_PORT" "$WORK/runs/cmd.after"
  reqs="$(awk '/ requests in / { print $1; exit }' "$out")"
  printf '%s %s %s %s %s %s\n' "${reqs:-0}" \
    "$(cmd_delta "$WORK/runs/cmd.before" "$WORK/runs/cmd.after" all)" \
    "$(cmd_delta "$WORK/runs/cmd.before" "$WORK/runs/cmd.after" xadd)" \
    "$(cmd_delta "$WORK/runs/cmd.before" "$WORK/runs/cmd.after" evalsha)" \
    "$(cmd_delta "$WORK/runs/cmd.before" "$WORK/runs/cmd.after" get)" \
    "$(cmd_top "$WORK/runs/cmd.before" "$WORK/runs/cmd.after" 4)" > "$WORK/runs/$name.r$r.cmd"
  grep -E '^Requests/sec|^ +(50|99)%' "$out" | sed 's/^ */    /' >&2
  if grep -q 'Socket errors' "$out"; then
    FAILED+="$name (round $r): $(grep -m1 'Socket errors' "$out" | sed 's/^ *//'); "
  fi
  if grep -q 'Non-2xx or 3xx responses' "$out"; then
    FAILED+="$name (round $r): $(grep -m1 'Non-2xx or 3xx responses' "$out" | sed 's/^ *//'); "
  fi
}

run_rounds() {
  local r name
  mkdir -p "$WORK/runs"
  for ((r = 1; r <= ROUNDS; r++)); do
    for name in "${T_NAMES[@]}"; do
      measure "$name" "$r"
    done
  done
}

# ---------------------------------------------------------------------------- per-run figures
run_rps() { awk '/^Requests\/sec:/ { print $2; exit }' "$WORK/runs/$1.r$2.txt"; }
run_pct() { to_ms "$(awk -v p="$3%" '$1 == p { print $2; exit }' "$WORK/runs/$1.r$2.txt")"; }
# median of the numbers on stdin (one a line; the mean of the middle two for an even count)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "?"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
each_round() { # each_round FN ARGS...: FN ARGS... R for every round, one output a line
  local r
  for ((r = 1; r <= ROUNDS; r++)); do "$@" "$r"; echo; done
}
rps_of_round() { run_rps "$1" "$2" | tr -d '\n'; }
ratio_of_round() { awk -v a="$(run_rps "$1" "$2")" -v b="$(run_rps nginx "$2")" 'BEGIN { if (b > 0) printf "%.4f", a / b; else printf "0" }'; }
dp99_of_round() { awk -v a="$(run_pct "$1" "$2" 99)" -v b="$(run_pct nginx "$2" 99)" 'BEGIN { printf "%.3f", a - b }'; }
pct_of_round() { run_pct "$1" "$3" "$2"; }

med_rps() { each_round rps_of_round "$1" | median; }
med_ratio() { each_round ratio_of_round "$1" | median; }
med_dp99() { each_round dp99_of_round "$1" | median; }
med_pct() { each_round pct_of_round "$1" "$2" | median | awk '{ if ($1 == "?") print; else printf "%.3f\n", $1 }'; }
# spread NAME: "min–max (±P %)" of the rounds' requests/s, P = (max − min) / 2 / median
spread() {
  each_round rps_of_round "$1" | sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.0f–%.0f (±%.1f%%)", v[1], v[NR], (m > 0 ? 50 * (v[NR] - v[1]) / m : 0) }'
}
# cpu_avg NAME: "label P% ..." averaged over the rounds
cpu_avg() {
  cat "$WORK/runs/$1".r*.cpu | awk '{ s[$1] += $2; n[$1]++; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
    END { for (i = 1; i <= k; i++) printf "%s%s %.0f%%", (i > 1 ? ", " : ""), order[i], s[order[i]] / n[order[i]] }'
}
# redis_per_call NAME FIELD: FIELD (2 all, 3 xadd, 4 evalsha, 5 get) summed over the rounds ÷ requests
redis_per_call() {
  cat "$WORK/runs/$1".r*.cmd | awk -v f="$2" '{ n += $f; c += $1 } END { if (c > 0) printf "%.3f", n / c; else printf "?" }'
}
# redis_top NAME: the commands seen over all rounds, most first, per call
redis_top() {
  cat "$WORK/runs/$1".r*.cmd | awk '{ c += $1; for (i = 6; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
    END { for (k in s) printf "%s %.3f\n", k, (c > 0 ? s[k] / c : 0) }' | sort -k2 -rg | head -n 4 \
    | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), toupper($1), $2 }'
}
