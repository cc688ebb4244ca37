// The device authorization grant (RFC 8628) as openid-client runs it: the device asks for a
// user code and polls (openid-client waits the interval, and longer after `slow_down`) while
// the user — a browser played with fetch — enters the code at the broker's /device page, logs
// in at the development identity provider and allows the device; then the tokens are
// refreshed and revoked.
//
// usage: node device_flow.mjs BROKER_URL CLIENT_ID USER PASSWORD

import {
  Browser, check, client, configure, fail, hiddenFields, ok, refusesRevoked,
} from './common.mjs';

const [base, clientId, user, password] = process.argv.slice(2);
if (!password) fail('usage: device_flow.mjs BROKER_URL CLIENT_ID USER PASSWORD');

/// The user connects the device showing `userCode` from another browser.
async function userAllows(userCode) {
  const browser = new Browser();
  const entry = `${base}/device`;
  const upstream = Browser.location(
    await browser.request(entry, { method: 'POST', form: { user_code: userCode.toLowerCase() } }),
    entry,
  );
  const callback = await browser.signIn(upstream, user, password);
  const confirm = Browser.location(await browser.request(callback), callback);
  const page = await browser.request(confirm);
  check(page.status === 200, `confirmation page ${page.status}`);
  const form = { ...hiddenFields(await page.text()), decision: 'allow' };
  const done = await browser.request(`${base}/device/confirm`, { method: 'POST', form });
  check(done.status === 200 && (await done.text()).includes('connected'), 'device not allowed');
}

// --- snippet: device flow (docs/integrating-apps.md) ---
const config = await configure(base, clientId);
const response = await client.initiateDeviceAuthorization(config, { scope: 'openid read' });
console.log(`Open ${response.verification_uri} and enter ${response.user_code}`);
const polling = client.pollDeviceAuthorizationGrant(config, response);
// --- end snippet ---

check(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(response.user_code),
  `user code ${response.user_code}`);
check(response.verification_uri === `${base}/device`, `verification_uri ${response.verification_uri}`);
ok('device authorization: user code and verification URI');
await userAllows(response.user_code);
ok('user entered the code (lower case), logged in and allowed the device');
const tokens = await polling;
check(tokens.access_token.startsWith('tsr_at_'), `access token ${tokens.access_token}`);
check(tokens.refresh_token?.startsWith('tsr_rt_'), 'no refresh token');
check(tokens.claims()?.aud === clientId, 'no id_token for the device');
ok('polled until allowed: tokens and a validated id_token');
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
check(refreshed.refresh_token !== tokens.refresh_token, 'refresh token not rotated');
await client.tokenRevocation(config, refreshed.refresh_token);
await refusesRevoked(config, refreshed.refresh_token);
ok('refreshed and revoked');
