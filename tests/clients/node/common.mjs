// What the client scripts share: the broker's configuration through openid-client's discovery,
// a browser played with fetch (a cookie jar, redirects not followed), the development identity
// provider's login form, and the test's output format.
//
// Each script prints one `OK <what>` line per check and exits 0, or prints `FAIL <why>` and
// exits 1. A missing package exits 3 with the npm command to run.

let client;
try {
  client = await import('openid-client');
} catch (e) {
  console.log(`MISSING openid-client: npm ci in tests/clients/node (${e.code ?? e.message})`);
  process.exit(3);
}
export { client };

export function ok(what) {
  console.log(`OK ${what}`);
}

export function fail(why) {
  console.log(`FAIL ${why}`);
  process.exit(1);
}

export function check(cond, why) {
  if (!cond) fail(why);
}

/// openid-client's Configuration for the broker at `base`: discovery (RFC 8414 / OpenID
/// Connect).
// --- snippet: discovery (docs/integrating-apps.md) ---
export async function configure(issuer, clientId, secret) {
  // A public client (native app, SPA, device) has no secret: client_id alone.
  const auth = secret ? client.ClientSecretBasic(secret) : client.None();
  // Plain http only for a broker on 127.0.0.1 (tessera dev, tests): never in production.
  const local = new URL(issuer).protocol === 'http:';
  const options = local ? { execute: [client.allowInsecureRequests] } : {};
  return client.discovery(new URL(issuer), clientId, undefined, auth, options);
}
// --- end snippet ---

/// Fails unless the revoked `refreshToken` is refused (`invalid_grant`).
export async function refusesRevoked(config, refreshToken) {
  try {
    await client.refreshTokenGrant(config, refreshToken);
  } catch (e) {
    check(e.error === 'invalid_grant', `after revocation: ${e.error ?? e.message}`);
    return;
  }
  fail('a revoked refresh token still refreshes');
}

const unescape = (s) =>
  s.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&#x27;', "'")
    .replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/// The hidden inputs of a page's form, entity-decoded.
export function hiddenFields(html) {
  const fields = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescape(m[1])] = unescape(m[2]);
  }
  return fields;
}

/// A browser: one cookie jar (cookies are per host, whatever the port, as browsers keep them),
/// redirects returned rather than followed.
export class Browser {
  constructor() {
    this.jar = new Map();
  }

  async request(url, { method = 'GET', form } = {}) {
    const headers = {};
    if (this.jar.size) {
      headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attrs.some((a) => a.trim().toLowerCase() === 'max-age=0');
      if (gone) this.jar.delete(name);
      else this.jar.set(name, pair.slice(eq + 1).trim());
    }
    return res;
  }

  /// Where a redirect answer points, resolved against the URL asked.
  static location(res, url) {
    check([302, 303].includes(res.status), `expected a redirect from ${url}, got ${res.status}`);
    return new URL(res.headers.get('location'), url).href;
  }

  /// The user at the development identity provider's login form at `formUrl` signs in;
  /// returns where the provider sends the browser back to (the broker's /callback).
  async signIn(formUrl, user, password) {
    const page = await this.request(formUrl);
    check(page.status === 200, `login page ${page.status}`);
    const html = await page.text();
    const action = html.match(/<form method="post" action="([^"]+)">/);
    check(action, 'no login form');
    const target = new URL(unescape(action[1]), formUrl).href;
    const form = { ...hiddenFields(html), username: user, password };
    return Browser.location(await this.request(target, { method: 'POST', form }), target);
  }
}
