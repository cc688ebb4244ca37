"""Per-call syscalls, context switches and wake-ups from `perf stat --per-thread -x,` (bench/syscalls.sh).

    python3 bench/syscalls.py NAME CALLS SERVER.perf ECHO.perf THREADS_BEFORE THREADS_AFTER

SERVER.perf / ECHO.perf: perf's CSV ("comm-tid,count,unit,event,...") for the measured server
and for the echo backend behind it; THREADS_*: "tid comm voluntary involuntary" lines read from
/proc/PID/task/*/status before and after the run. Prints a Markdown block.
"""

import sys
from collections import defaultdict


def read_perf(path):
    """{(thread, event): count} and the set of threads."""
    counts = defaultdict(int)
    threads = set()
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(",")
            if len(parts) < 4 or line.startswith("#"):
                continue
            thread, value, event = parts[0], parts[1], parts[3]
            threads.add(thread)
            try:
                counts[(thread, event)] += float(value)  # task-clock: msec
            except ValueError:
                pass  # <not counted>
    return counts, threads


def syscall(event):
    return event[len("syscalls:sys_enter_"):] if event.startswith("syscalls:sys_enter_") else None


def read_threads(path):
    out = {}
    with open(path) as f:
        for line in f:
            tid, comm, vol, invol = line.split()
            out[tid] = (comm, int(vol), int(invol))
    return out


def summary(counts, calls):
    by_name = defaultdict(int)
    for (_, event), n in counts.items():
        name = syscall(event)
        if name:
            by_name[name] += n
    total = sum(by_name.values())
    switches = sum(n for (_, e), n in counts.items() if e == "sched:sched_switch")
    wakeups = sum(n for (_, e), n in counts.items() if e == "sched:sched_wakeup")
    clock = sum(n for (_, e), n in counts.items() if e == "task-clock")
    top = sorted(((n, s) for s, n in by_name.items() if n / calls >= 0.005), reverse=True)
    names = ", ".join(f"{s} {n / calls:.2f}" for n, s in top)
    return total / calls, switches / calls, wakeups / calls, names, clock * 1000 / calls


def main():
    name, calls = sys.argv[1], int(sys.argv[2])
    server, _ = read_perf(sys.argv[3])
    echo, _ = read_perf(sys.argv[4])
    before, after = read_threads(sys.argv[5]), read_threads(sys.argv[6])
    total, switches, wakeups, names, cpu = summary(server, calls)
    e_total, e_switches, e_wakeups, e_names, e_cpu = summary(echo, calls)
    print(f"\n## {name}: {calls} calls\n")
    print("| process | CPU µs / call (task-clock) | syscalls / call | sched switches / call | wake-ups issued / call | syscalls by name, per call |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| {name} | {cpu:.1f} | {total:.2f} | {switches:.2f} | {wakeups:.2f} | {names} |")
    print(f"| echo backend behind it | {e_cpu:.1f} | {e_total:.2f} | {e_switches:.2f} | {e_wakeups:.2f} | {e_names} |")
    print(f"\n{name}, per thread (context switches from /proc/PID/task/*/status):\n")
    print("| thread | syscalls / call | voluntary switches / call | involuntary / call | wake-ups issued / call |")
    print("|---|---:|---:|---:|---:|")
    per_thread = defaultdict(lambda: [0, 0])
    for (thread, event), n in server.items():
        tid = thread.rsplit("-", 1)[-1]
        if syscall(event):
            per_thread[tid][0] += n
        elif event == "sched:sched_wakeup":
            per_thread[tid][1] += n
    for tid, (comm, vol, invol) in sorted(after.items(), key=lambda kv: -per_thread[kv[0]][0]):
        comm0, vol0, invol0 = before.get(tid, (comm, 0, 0))
        sc, wk = per_thread[tid]
        dv, di = vol - vol0, invol - invol0
        if sc == 0 and dv == 0 and di == 0:
            continue
        print(f"| {comm} ({tid}) | {sc / calls:.3f} | {dv / calls:.3f} | {di / calls:.3f} | {wk / calls:.3f} |")


if __name__ == "__main__":
    main()
