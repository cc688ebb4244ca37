// AppAuth-JS (`@openid/appauth`) as a native app (RFC 8252) with its loopback handler: the
// `NodeBasedHandler` listens on 127.0.0.1 on the port the app chose at run time and "opens the
// system browser" on the authorization URL (PKCE S256 and state are AppAuth's); the test is the
// user at that browser — AppAuth opens it with the `opener` package, which this script points
// at the browser of `common.mjs`, before AppAuth is loaded. Then AppAuth's token request handler
// redeems the code, refreshes and revokes.
//
// usage: node appauth_native.mjs BROKER_URL CLIENT_ID USER PASSWORD

import { createRequire } from 'node:module';
import net from 'node:net';

import { Browser, check, fail, ok } from './common.mjs';

const [base, clientId, user, password] = process.argv.slice(2);
if (!password) fail('usage: appauth_native.mjs BROKER_URL CLIENT_ID USER PASSWORD');

const require = createRequire(import.meta.url);
let appauthMain;
try {
  appauthMain = require.resolve('@openid/appauth');
} catch (e) {
  console.log(`MISSING @openid/appauth: npm ci in tests/clients/node (${e.code})`);
  process.exit(3);
}

// The system browser: the user logs in, and the browser follows the redirect to the loopback
// port. `opener` is what AppAuth's NodeBasedHandler calls; it is replaced in the module cache.
let browsed;
const openerPath = createRequire(appauthMain).resolve('opener');
require.cache[openerPath] = {
  id: openerPath,
  filename: openerPath,
  loaded: true,
  exports: (url) => {
    browsed = (async () => {
      const browser = new Browser();
      const upstream = Browser.location(await browser.request(url), url);
      const callback = await browser.signIn(upstream, user, password);
      const back = Browser.location(await browser.request(callback), callback);
      const res = await browser.request(back);
      return { back, status: res.status };
    })();
  },
};

const {
  AuthorizationNotifier, AuthorizationRequest, AuthorizationServiceConfiguration,
  BaseTokenRequestHandler, GRANT_TYPE_AUTHORIZATION_CODE, GRANT_TYPE_REFRESH_TOKEN,
  RevokeTokenRequest, TokenRequest,
} = require('@openid/appauth');
const { NodeBasedHandler, NodeCrypto, NodeRequestor } = require('@openid/appauth/built/node_support');

/// A port free now: the app's choice at run time.
const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = s.address();
    s.close(() => resolve(p));
  });
});
const redirectUri = `http://127.0.0.1:${port}/callback`;

const requestor = new NodeRequestor();
const configuration = await AuthorizationServiceConfiguration.fetchFromIssuer(base, requestor);
const notifier = new AuthorizationNotifier();
const handler = new NodeBasedHandler(port);
handler.setAuthorizationNotifier(notifier);
const completed = new Promise((resolve) => {
  notifier.setAuthorizationListener((request, response, error) => resolve({ request, response, error }));
});
const request = new AuthorizationRequest({
  client_id: clientId,
  redirect_uri: redirectUri,
  scope: 'openid read',
  response_type: AuthorizationRequest.RESPONSE_TYPE_CODE,
}, new NodeCrypto(), true);
handler.performAuthorizationRequest(configuration, request);
const { response, error } = await completed;
const { back } = await browsed;
check(!error && response?.code, `authorization failed: ${JSON.stringify(error)}`);
check(back.startsWith(redirectUri), `redirected to ${back}`);
check(response.state === request.state, 'state mismatch');
check(request.extras.code_challenge_method === 'S256', 'no PKCE S256');
ok(`AppAuth loopback handler on port ${port} got the code (PKCE S256, state)`);

const tokenHandler = new BaseTokenRequestHandler(requestor);
const tokens = await tokenHandler.performTokenRequest(configuration, new TokenRequest({
  client_id: clientId,
  redirect_uri: redirectUri,
  grant_type: GRANT_TYPE_AUTHORIZATION_CODE,
  code: response.code,
  extras: { code_verifier: request.internal.code_verifier },
}));
check(tokens.accessToken.startsWith('tsr_at_') && tokens.idToken, 'no tokens');
check(tokens.refreshToken?.startsWith('tsr_rt_'), 'no refresh token');
ok('code redeemed by AppAuth as a public client (no secret)');

const refreshed = await tokenHandler.performTokenRequest(configuration, new TokenRequest({
  client_id: clientId,
  redirect_uri: redirectUri,
  grant_type: GRANT_TYPE_REFRESH_TOKEN,
  refresh_token: tokens.refreshToken,
}));
check(refreshed.refreshToken !== tokens.refreshToken, 'refresh token not rotated');
ok('refreshed (rotated)');
await tokenHandler.performRevokeTokenRequest(configuration, new RevokeTokenRequest({
  token: refreshed.refreshToken,
  token_type_hint: 'refresh_token',
  client_id: clientId,
}));
const again = await tokenHandler.performTokenRequest(configuration, new TokenRequest({
  client_id: clientId,
  redirect_uri: redirectUri,
  grant_type: GRANT_TYPE_REFRESH_TOKEN,
  refresh_token: refreshed.refreshToken,
})).then(() => 'refreshed', (e) => `refused (${e.message})`);
check(again.startsWith('refused'), 'a revoked refresh token still refreshes');
ok('revoked');
