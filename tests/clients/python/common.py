"""What the client scripts share: discovery, failing loudly, and the test's output format.

Each script prints one `OK <what>` line per check and exits 0, or prints `FAIL <why>` and exits 1.
A missing package exits 3 with the pip command to run.
"""
import os
import sys

try:
    import requests
except ImportError as e:  # pragma: no cover - the Rust test reports this
    print(f"MISSING {e.name}: pip install -r tests/clients/python/requirements.txt")
    sys.exit(3)

# The broker under test listens on plain http on 127.0.0.1; oauthlib refuses http otherwise.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def need(module):
    """Imports `module`, or exits 3 naming it."""
    try:
        return __import__(module, fromlist=["*"])
    except ImportError as e:
        print(f"MISSING {e.name}: pip install -r tests/clients/python/requirements.txt")
        sys.exit(3)


def discover(base):
    """The broker's OpenID Connect / RFC 8414 metadata."""
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        r = requests.get(base + path, timeout=10)
        if r.status_code == 200:
            return r.json()
    fail("no metadata")


def ok(what):
    print(f"OK {what}", flush=True)


def fail(why):
    print(f"FAIL {why}", flush=True)
    sys.exit(1)


def check(cond, why):
    if not cond:
        fail(why)
