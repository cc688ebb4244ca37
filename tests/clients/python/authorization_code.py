"""The authorization code flow with PKCE, as authlib does it: the browser part (the broker, the
development identity provider's login form, back to the broker) is driven with plain HTTP
requests in one cookie-keeping session; then the code is redeemed, the id_token verified
against the broker's JWKS (OpenID Connect Core: iss, aud, nonce, at_hash), the tokens
refreshed and the login revoked.

usage: authorization_code.py BROKER_URL CLIENT_ID CLIENT_SECRET METHOD REDIRECT_URI USER PASSWORD
"""
import html
import re
import sys
from urllib.parse import urljoin

from common import check, discover, fail, need, ok

authlib_client = need("authlib.integrations.requests_client")
authlib_common = need("authlib.common.security")
jose = need("authlib.jose")
oidc = need("authlib.oidc.core")
import requests  # noqa: E402


def login(auth_url, user, password):
    """Plays the browser; returns the URL the broker finally redirects to (not followed)."""
    browser = requests.Session()
    r = browser.get(auth_url, allow_redirects=False, timeout=10)
    check(r.status_code == 302, f"/authorize answered {r.status_code}: {r.text[:200]}")
    check(any(c.name.endswith("tessera-login") for c in browser.cookies), "no login cookie")
    page_url = r.headers["Location"]
    page = browser.get(page_url, timeout=10)
    check(page.status_code == 200, f"login page {page.status_code}")
    form = re.search(r'<form method="post" action="([^"]+)">', page.text)
    check(form is not None, "no login form")
    fields = {html.unescape(n): html.unescape(v) for n, v in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    fields.update(username=user, password=password)
    r = browser.post(urljoin(page_url, html.unescape(form.group(1))), data=fields,
                     allow_redirects=False, timeout=10)
    check(r.status_code == 302, f"login form answered {r.status_code}")
    r = browser.get(r.headers["Location"], allow_redirects=False, timeout=10)
    check(r.status_code == 302, f"/callback answered {r.status_code}: {r.text[:200]}")
    # Without the cookie, the same callback would have been refused (checked by the Rust tests).
    return r.headers["Location"]


def main():
    if len(sys.argv) != 8:
        fail(__doc__)
    base, client_id, secret, method, redirect_uri, user, password = sys.argv[1:]
    meta = discover(base)
    check("S256" in meta["code_challenge_methods_supported"], "no S256")
    s = authlib_client.OAuth2Session(client_id, secret, scope="openid read",
                                     redirect_uri=redirect_uri, code_challenge_method="S256",
                                     token_endpoint_auth_method=method)
    verifier = authlib_common.generate_token(48)
    nonce = authlib_common.generate_token(20)
    url, state = s.create_authorization_url(meta["authorization_endpoint"],
                                            code_verifier=verifier, nonce=nonce)
    back = login(url, user, password)
    check(back.startswith(redirect_uri), f"redirected to {back}")
    check(f"state={state}" in back and "iss=" in back, f"state and iss in {back}")
    ok("login through the browser, with the login cookie")

    token = s.fetch_token(meta["token_endpoint"], authorization_response=back,
                          code_verifier=verifier, state=state)
    check(token.get("refresh_token", "").startswith("tsr_rt_"), f"tokens {token}")
    ok(f"code redeemed with PKCE ({method})")

    keys = jose.JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jose.jwt.decode(
        token["id_token"], keys, claims_cls=oidc.CodeIDToken,
        claims_options={"iss": {"essential": True, "value": meta["issuer"]}},
        claims_params={"nonce": nonce, "client_id": client_id,
                       "access_token": token["access_token"]})
    claims.validate()
    check(claims["aud"] == client_id and claims["azp"] == client_id, f"aud {claims}")
    ok(f"id_token verified: iss, aud, nonce, at_hash (sub {claims['sub']})")

    first = token["access_token"]
    refreshed = s.refresh_token(meta["token_endpoint"])
    check(refreshed["access_token"] != first, "refresh returned the same access token")
    check(refreshed["refresh_token"] != token["refresh_token"], "refresh token not rotated")
    ok("refreshed (rotated)")

    r = s.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"],
                       token_type_hint="refresh_token")
    check(r.status_code == 200, f"revoke {r.status_code}")
    r = s.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"])
    check(r.status_code == 200 and r.json() == {"active": False}, f"after revoke {r.text}")
    ok("login revoked with its refresh token")


if __name__ == "__main__":
    main()
