// The authorization code flow with PKCE as openid-client runs it for a native app with a
// loopback redirect (RFC 8252 §7.3) — or, given a secret, for a server-side web app: the app
// listens on 127.0.0.1 on a port the system picks, the browser (played with fetch) logs in at
// the development identity provider and is redirected to that port; the code is redeemed, the
// id_token validated by openid-client (iss, aud, nonce, signature against the broker's JWKS),
// the tokens refreshed (rotated) and the login revoked.
//
// usage: node authorization_code.mjs BROKER_URL CLIENT_ID USER PASSWORD [CLIENT_SECRET]

import http from 'node:http';

import { Browser, check, client, configure, fail, ok, refusesRevoked } from './common.mjs';

const [base, clientId, user, password, secret] = process.argv.slice(2);
if (!password) fail('usage: authorization_code.mjs BROKER_URL CLIENT_ID USER PASSWORD [SECRET]');

// The app's loopback listener: it receives the redirect with the code.
let received;
const server = http.createServer((req, res) => {
  received = new URL(req.url, `http://${req.headers.host}`);
  res.end('You can close this window.');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const redirectUri = `http://127.0.0.1:${server.address().port}/callback`;

// --- snippet: authorization code + PKCE (docs/integrating-apps.md) ---
const config = await configure(base, clientId, secret);
const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid read',
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  state,
  nonce,
});
// … the user's browser opens authorizationUrl and comes back to redirectUri …
// --- end snippet ---

const browser = new Browser();
const upstream = Browser.location(await browser.request(authorizationUrl.href), authorizationUrl.href);
const callback = await browser.signIn(upstream, user, password);
const back = Browser.location(await browser.request(callback), callback);
check(back.startsWith(redirectUri), `redirected to ${back}, not the loopback port`);
await browser.request(back);
check(received?.searchParams.get('code'), 'the loopback listener got no code');
ok(`login through the browser, back to the loopback port ${server.address().port}`);
server.close();

// --- snippet: redeem, refresh, revoke (docs/integrating-apps.md) ---
const tokens = await client.authorizationCodeGrant(config, received, {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims(); // the id_token, validated
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
await client.tokenRevocation(config, refreshed.refresh_token, {
  token_type_hint: 'refresh_token',
});
// --- end snippet ---

check(tokens.access_token.startsWith('tsr_at_'), `access token ${tokens.access_token}`);
check(tokens.refresh_token?.startsWith('tsr_rt_'), 'no refresh token');
check(claims.aud === clientId && claims.sub, `id_token claims ${JSON.stringify(claims)}`);
ok(`code redeemed with PKCE, id_token validated (sub ${claims.sub})`);
check(refreshed.access_token !== tokens.access_token, 'refresh returned the same access token');
check(refreshed.refresh_token !== tokens.refresh_token, 'refresh token not rotated');
ok('refreshed (rotated)');
await refusesRevoked(config, refreshed.refresh_token);
ok('login revoked with its refresh token');
