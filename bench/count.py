"""A fixed number of HTTP/1.1 keep-alive calls over a few connections, then exit (bench/percall.sh).

    python3 bench/count.py URL CALLS CONNECTIONS MODE

MODE: "header:<name>:<value>"  GET with that header (the proxy); several, one a line:
                               "header:<name>:<value>\n<name>:<value>..." (the echo backend)
      "form:<body>"            POST of that form with BENCH_BASIC_AUTH (the broker)
      "flood"                  GET with a new well-formed, never issued access token per call
                               (the format of shared/src/token.rs, as bench/flood.lua makes it:
                               32 random bytes, so also a forged keyed tag, shared/src/crypto/tag.rs)
      "introspect-flood"       POST token=<a new such token> with BENCH_BASIC_AUTH (the broker)
Prints "calls=N statuses={...}". Under callgrind the server is the bottleneck, not this script.
"""

import asyncio
import base64
import os
import secrets
import sys
import zlib
from collections import Counter
from urllib.parse import urlsplit


def unknown_token():
    body = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    head = "tsr_at_" + body
    check = base64.urlsafe_b64encode(zlib.crc32(head.encode()).to_bytes(4, "big")).rstrip(b"=").decode()
    return head + check


def request(url, mode):
    u = urlsplit(url)
    target = u.path or "/"
    host = u.netloc
    if mode.startswith("header:"):
        lines = "".join(f"{n}: {v}\r\n" for n, v in (h.split(":", 1) for h in mode[len("header:"):].split("\n")))
        return lambda: f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{lines}\r\n".encode()
    if mode.startswith("form:"):
        body = mode[len("form:"):].encode()
        auth = os.environ["BENCH_BASIC_AUTH"]
        head = (f"POST {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        return lambda: head + body
    if mode == "introspect-flood":
        auth = os.environ["BENCH_BASIC_AUTH"]

        def make():
            body = f"token={unknown_token()}".encode()
            return (f"POST {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
                    f"Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        return make
    if mode == "flood":
        return lambda: (f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"
                        f"Authorization: Bearer {unknown_token()}\r\n\r\n").encode()
    raise SystemExit(f"unknown mode {mode}")


async def conn(url, make, left, statuses):
    u = urlsplit(url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    while left[0] > 0:
        left[0] -= 1
        writer.write(make())
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        length = None
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        if length is None:
            raise SystemExit("no Content-Length in the answer")
        await reader.readexactly(length)
        statuses[status] += 1
    writer.close()


async def main():
    url, calls, conns, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    make = request(url, mode)
    left, statuses = [calls], Counter()
    await asyncio.gather(*(conn(url, make, left, statuses) for _ in range(conns)))
    print(f"calls={sum(statuses.values())} statuses={dict(statuses)}")


if __name__ == "__main__":
    asyncio.run(main())
