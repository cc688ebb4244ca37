//! The walk-through `tessera dev` prints: the demo credentials and the developer portal's
//! logins, then one curl command per thing to try, every URL built from the ports in use. It holds live secrets: printed once, on the
//! terminal that started `tessera dev`, never logged.

use secrecy::ExposeSecret;

use super::demo::Demo;

/// What the walk-through names (live secrets among them: no `Debug`).
pub struct Walkthrough<'a> {
    pub base: &'a str,
    pub proxy: &'a str,
    pub echo: &'a str,
    pub broker_status_port: u16,
    pub proxy_status_port: u16,
    pub admin_token: &'a str,
    pub registration_token: &'a str,
    pub demo: &'a Demo,
}

pub fn print(w: &Walkthrough<'_>) {
    println!("{}{}", app_steps(w), user_steps(w));
}

/// The credentials, and steps 1–4: the app's own token, the proxy, throttling, introspection
/// and revocation.
fn app_steps(w: &Walkthrough<'_>) -> String {
    let (base, proxy, echo) = (w.base, w.proxy, w.echo);
    let (id, secret) = (&w.demo.client_id, w.demo.client_secret.expose_secret());
    let (admin_token, registration_token) = (w.admin_token, w.registration_token);
    format!(
        r#"
Tessera dev — broker on {base}, proxy on {proxy}, sample backend on {echo}
(in-memory store: everything is lost on exit)

Demo app (developer {dev}, app {app_id}):
  client_id     = {id}
  client_secret = {secret}
Admin token     = {admin_token}
Registration    = {registration_token}  (RFC 7591 initial access token for {base}/register)

Developer portal: {base}/portal
  sign in as alice / alice (a developer: the catalogue, your apps and their traffic)
  or olivia / olivia (an operator: also the console at {base}/portal/admin)

1. Get an access token (client_credentials), and keep it in $TOKEN:
   TOKEN=$(curl -s -u '{id}:{secret}' -d grant_type=client_credentials -d scope=orders:read {base}/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

2. Call the API through the proxy (the backend echoes what it received, X-Tessera-* included):
   curl -s -H "Authorization: Bearer $TOKEN" {proxy}/orders/42

   Without a token (401), and with the API key instead (Apigee's VerifyAPIKey):
   curl -si {proxy}/orders/42
   curl -s -H 'x-api-key: {id}' {proxy}/keyed/ping

3. Get throttled: the /throttled route allows 3 calls a minute per app (the 4th is 429):
   for i in 1 2 3 4; do curl -s -o /dev/null -w '%{{http_code}}\n' -H "Authorization: Bearer $TOKEN" {proxy}/throttled; done

4. Introspect and revoke; the proxy refuses the revoked token at once:
   curl -s -u '{id}:{secret}' -d token=$TOKEN {base}/introspect
   curl -s -u '{id}:{secret}' -d token=$TOKEN {base}/revoke
   curl -si -H "Authorization: Bearer $TOKEN" {proxy}/orders/42

"#,
        dev = w.demo.developer_id,
        app_id = w.demo.app_id,
    )
}

/// Steps 5 and 6: a user's login through the development identity provider, and what to look at.
fn user_steps(w: &Walkthrough<'_>) -> String {
    let base = w.base;
    let (id, secret) = (&w.demo.client_id, w.demo.client_secret.expose_secret());
    let admin_token = w.admin_token;
    let (broker_status_port, status_port) = (w.broker_status_port, w.proxy_status_port);
    format!(
        r#"5. Log in as a user (authorization code + PKCE, delegated to the built-in identity provider,
   which stands in for Okta). Open in a browser, sign in as alice / alice (the login completes
   only in the browser that started it: it carries the broker's login cookie):
   {base}/authorize?response_type=code&client_id={id}&redirect_uri={base}/dev/callback&scope=openid%20orders:read&state=demo&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256

   The browser lands on {base}/dev/callback?code=…; redeem the code within 60 s:
   curl -s -u '{id}:{secret}' -d grant_type=authorization_code -d code=CODE \
        -d redirect_uri={base}/dev/callback -d code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk {base}/token

   Or without a browser (password grant, delegated upstream):
   curl -s -u '{id}:{secret}' -d grant_type=password -d username=alice -d password=alice -d scope=orders:read {base}/token

   Refresh (rotates; reusing an old refresh token revokes the login):
   curl -s -u '{id}:{secret}' -d grant_type=refresh_token -d refresh_token=REFRESH_TOKEN {base}/token

6. Look around (the id_tokens are the broker's, verifiable with its JWKS):
   curl -s {base}/.well-known/openid-configuration
   curl -s {base}/jwks
   curl -s -H 'Authorization: Bearer {admin_token}' {base}/admin/developers
   curl -s -H 'Authorization: Bearer {admin_token}' '{base}/admin/usage'
   curl -s http://127.0.0.1:{broker_status_port}/metrics     (the broker's status listener)
   curl -s http://127.0.0.1:{status_port}/metrics     (the proxy's)

Ctrl-C to stop.
"#
    )
}
