"""client_credentials with authlib and requests-oauthlib, as each library does it by default.

usage: client_credentials.py BROKER_URL CLIENT_ID CLIENT_SECRET METHOD
METHOD: client_secret_basic or client_secret_post (the app's registered method).
"""
import sys

from common import check, discover, fail, need, ok

authlib_client = need("authlib.integrations.requests_client")
oauthlib2 = need("oauthlib.oauth2")
requests_oauthlib = need("requests_oauthlib")
import requests  # noqa: E402


def with_authlib(meta, client_id, secret, method):
    s = authlib_client.OAuth2Session(client_id, secret, token_endpoint_auth_method=method,
                                     scope="read")
    token = s.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    check(token.get("token_type") == "Bearer", f"authlib token_type {token}")
    check(token.get("scope") == "read", f"authlib scope {token}")
    r = s.introspect_token(meta["introspection_endpoint"], token=token["access_token"])
    check(r.status_code == 200 and r.json().get("active") is True, f"introspect {r.text}")
    r = s.revoke_token(meta["revocation_endpoint"], token=token["access_token"],
                       token_type_hint="access_token")
    check(r.status_code == 200, f"revoke {r.status_code}")
    r = s.introspect_token(meta["introspection_endpoint"], token=token["access_token"])
    check(r.json().get("active") is False, f"still active after revocation {r.text}")
    ok(f"authlib client_credentials {method}, introspection, revocation")
    # The other method is refused: the registered one is enforced.
    other = "client_secret_post" if method == "client_secret_basic" else "client_secret_basic"
    s = authlib_client.OAuth2Session(client_id, secret, token_endpoint_auth_method=other)
    try:
        s.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        fail(f"authlib with {other} was accepted")
    except Exception as e:  # authlib raises OAuthError
        check("invalid_client" in str(e), f"expected invalid_client, got {e}")
    ok(f"authlib {other} refused")


def with_requests_oauthlib(meta, client_id, secret, method):
    client = oauthlib2.BackendApplicationClient(client_id=client_id)
    s = requests_oauthlib.OAuth2Session(client=client)
    if method == "client_secret_basic":
        token = s.fetch_token(meta["token_endpoint"], auth=requests.auth.HTTPBasicAuth(
            client_id, secret), scope=["read"])
    else:
        token = s.fetch_token(meta["token_endpoint"], client_id=client_id, client_secret=secret,
                              include_client_id=True, scope=["read"])
    check(token.get("access_token", "").startswith("tsr_at_"), f"requests-oauthlib {token}")
    check(token.get("scope") == ["read"], f"requests-oauthlib scope {token}")
    ok(f"requests-oauthlib client_credentials {method}")


def main():
    if len(sys.argv) != 5:
        fail(__doc__)
    base, client_id, secret, method = sys.argv[1:]
    meta = discover(base)
    check(method in meta["token_endpoint_auth_methods_supported"], "method not advertised")
    with_authlib(meta, client_id, secret, method)
    with_requests_oauthlib(meta, client_id, secret, method)


if __name__ == "__main__":
    main()
