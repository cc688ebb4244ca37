// A service's tokens with the client credentials grant, as openid-client gets them
// (client_secret_basic), and their revocation.
//
// usage: node client_credentials.mjs BROKER_URL CLIENT_ID CLIENT_SECRET

import { check, client, configure, fail, ok } from './common.mjs';

const [base, clientId, secret] = process.argv.slice(2);
if (!secret) fail('usage: client_credentials.mjs BROKER_URL CLIENT_ID CLIENT_SECRET');

// --- snippet: client credentials (docs/integrating-apps.md) ---
const config = await configure(base, clientId, secret); // client_secret_basic
const tokens = await client.clientCredentialsGrant(config, { scope: 'read' });
// call the API with `Authorization: Bearer ${tokens.access_token}`
// --- end snippet ---

check(tokens.access_token.startsWith('tsr_at_') && tokens.scope === 'read', JSON.stringify(tokens));
check(!tokens.refresh_token, 'a refresh token for client credentials');
ok('client_credentials token (client_secret_basic)');
await client.tokenRevocation(config, tokens.access_token);
const res = await fetch(`${base}/introspect`, {
  method: 'POST',
  headers: {
    authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  },
  body: new URLSearchParams({ token: tokens.access_token }),
});
check((await res.json()).active === false, 'revoked token still active');
ok('revoked');
