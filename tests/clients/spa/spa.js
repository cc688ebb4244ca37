// A single-page app with no library and no backend of its own: the authorization code flow with
// PKCE (WebCrypto), its code redeemed with a cross-origin `fetch` to the broker's /token, an API
// called through the proxy with the access token (a CORS preflight first, for `Authorization`),
// the tokens refreshed and revoked — all from the browser. tests/browser/spa.rs drives it in
// headless Chromium. `window.TESSERA` (config.js) names the broker, the proxy and the client.
//
// The page writes what happened as JSON into #result (and `error` when something threw).

const cfg = window.TESSERA;
const b64url = (bytes) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const show = (what) => {
  document.getElementById('result').textContent = JSON.stringify(what);
};

// --- snippet: SPA (docs/integrating-apps.md) ---
/// POSTs a form to the broker, as a public client (client_id in the body, no secret).
async function broker(path, form) {
  return fetch(`${cfg.broker}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: cfg.clientId, ...form }),
  });
}

async function signIn() {
  const verifier = random(32);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  const state = random(16);
  sessionStorage.setItem('login', JSON.stringify({ verifier, state }));
  const url = new URL(`${cfg.broker}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    scope: 'openid read',
    state,
    code_challenge: b64url(new Uint8Array(digest)),
    code_challenge_method: 'S256',
  });
  location.assign(url);
}
// --- end snippet ---

// --- snippet: SPA callback (docs/integrating-apps.md) ---
async function callback() {
  const params = new URLSearchParams(location.search);
  const { verifier, state } = JSON.parse(sessionStorage.getItem('login'));
  sessionStorage.removeItem('login');
  if (params.get('state') !== state) throw new Error('state mismatch');
  const res = await broker('/token', {
    grant_type: 'authorization_code',
    code: params.get('code'),
    redirect_uri: cfg.redirectUri,
    code_verifier: verifier,
  });
  const tokens = await res.json();
  // Through the proxy: `Authorization` is not CORS-safelisted, so the browser asks first.
  const api = await fetch(`${cfg.api}/api/orders/7`, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  const echoed = await api.json();
  // --- end snippet ---
  const refresh = await broker('/token', {
    grant_type: 'refresh_token',
    refresh_token: tokens.refresh_token,
  });
  const refreshed = await refresh.json();
  const revoke = await broker('/revoke', { token: refreshed.refresh_token });
  show({
    token_status: res.status,
    token_type: tokens.token_type,
    has_id_token: typeof tokens.id_token === 'string',
    api_status: api.status,
    api_ratelimit: api.headers.get('ratelimit-remaining'),
    echoed,
    refresh_status: refresh.status,
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    revoke_status: revoke.status,
  });
}

/// From an origin the app did not register: can the page read the broker's or the API's answer?
async function probe() {
  const outcome = async (call) => {
    try {
      return `read ${(await call()).status}`;
    } catch (e) {
      return `blocked (${e.name})`;
    }
  };
  show({
    token: await outcome(() => broker('/token', { grant_type: 'refresh_token', refresh_token: 'x' })),
    api: await outcome(() =>
      fetch(`${cfg.api}/api/orders/7`, { headers: { authorization: 'Bearer x' } })),
    discovery: await outcome(() => fetch(`${cfg.broker}/.well-known/openid-configuration`)),
  });
}

const run = (f) => f().catch((e) => show({ error: `${e.name}: ${e.message}` }));
if (location.pathname === '/callback.html') run(callback);
else if (location.pathname === '/probe.html') run(probe);
else document.getElementById('login').addEventListener('click', () => run(signIn));
