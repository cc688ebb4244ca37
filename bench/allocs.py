"""Allocations counted in a callgrind output file (bench/percall.sh): the calls made to the
allocator's entry points (mimalloc's mi_malloc / mi_zalloc / mi_realloc and their _aligned
forms, which Tessera's global allocator calls for every Rust allocation, and glibc's malloc
family for C code), summed over every call site.

    python3 bench/allocs.py FILE.cg   -> prints "allocs=N reallocs=M"
"""

import re
import sys

ALLOC = {"mi_malloc", "mi_malloc_aligned", "mi_zalloc", "mi_zalloc_aligned", "malloc", "calloc"}
REALLOC = {"mi_realloc", "mi_realloc_aligned", "realloc"}


def main(path):
    names = {}  # callgrind's name compression: "(id) name" once, "(id)" after
    callee = None
    allocs = reallocs = 0
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("cfn="):
                m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                if m:
                    if m.group(2) is not None:
                        names[m.group(1)] = m.group(2)
                    callee = names.get(m.group(1))
                else:
                    callee = line[4:].strip()
            elif line.startswith("fn="):
                m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                if m and m.group(2) is not None:
                    names[m.group(1)] = m.group(2)
            elif line.startswith("calls=") and callee is not None:
                n = int(line[6:].split()[0])
                if callee in ALLOC:
                    allocs += n
                elif callee in REALLOC:
                    reallocs += n
                callee = None
    print(f"allocs={allocs} reallocs={reallocs}")


if __name__ == "__main__":
    main(sys.argv[1])
