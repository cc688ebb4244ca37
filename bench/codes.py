#!/usr/bin/env python3
"""Pre-generates broker authorization codes for bench/redeem.lua, through the real login:
GET /authorize -> POST the built-in identity provider's login form (alice/alice) -> GET
/callback, for N codes with a few threads. Prints one code per line.

usage: codes.py BASE CLIENT_ID REDIRECT N"""
import sys
import urllib.parse
import http.client
from concurrent.futures import ThreadPoolExecutor

BASE, CLIENT, REDIRECT, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
host = urllib.parse.urlsplit(BASE).netloc


def one(conn):
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "scope": "read",
        "state": "bench", "code_challenge": CHALLENGE, "code_challenge_method": "S256"})
    conn.request("GET", "/authorize?" + q)
    r = conn.getresponse(); r.read()
    # The login completes only in the browser that started it: carry the broker's login cookie.
    cookie = r.getheader("Set-Cookie", "").split(";", 1)[0]
    up = urllib.parse.urlsplit(r.getheader("Location"))
    form = dict(urllib.parse.parse_qsl(up.query))
    form.update(username="alice", password="alice")
    conn.request("POST", up.path, urllib.parse.urlencode(form),
                 {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse(); r.read()
    cb = urllib.parse.urlsplit(r.getheader("Location"))
    conn.request("GET", cb.path + "?" + cb.query, headers={"Cookie": cookie})
    r = conn.getresponse(); r.read()
    back = urllib.parse.urlsplit(r.getheader("Location"))
    return dict(urllib.parse.parse_qsl(back.query))["code"]


def worker(n):
    conn = http.client.HTTPConnection(host)
    return [one(conn) for _ in range(n)]


threads = 8
with ThreadPoolExecutor(threads) as ex:
    for codes in ex.map(worker, [N // threads + (1 if i < N % threads else 0) for i in range(threads)]):
        for c in codes:
            print(c)
