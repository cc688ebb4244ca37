// bench/proxy.sh's P2 peer (issue 11): node-oidc-provider (panva), a standard certified OAuth 2.0
// / OpenID Connect server, storing its tokens in Redis through a Redis adapter (ioredis), so that
// nginx `auth_request` can validate every call with RFC 7662 introspection.
//
//   node bench/peer/server.mjs      (run by bench/proxy.sh from a temporary copy after `npm ci`)
//
// Environment (all required):
//   PEER_LISTEN      "127.0.0.1:PORT" to listen on (loopback only)
//   PEER_ISSUER      the issuer URL (http://127.0.0.1:PORT)
//   PEER_REDIS_URL   redis://127.0.0.1:PORT — the same Redis as the Tessera proxies; keys "oidc:*"
//   PEER_CLIENT_SECRET  secret of the client "bench-client" (client_credentials, scope "read")
//   PEER_RS_SECRET      secret of the client "nginx-rs", the resource server nginx authenticates as
//
// Every call nginx lets through costs the provider the whole standard introspection endpoint:
// form parsing, client authentication of nginx (client_secret_basic), the token lookup through the
// adapter (with token_type_hint=access_token the provider looks the value up as an AccessToken and
// as a ClientCredentials token: two Redis GETs), the allowed-policy check and the JSON answer.
// The only addition is the status mapping below: nginx's auth_request reads the subrequest's
// status only (2xx allows, 401/403 refuse, anything else is an error), while RFC 7662 answers an
// unknown token with 200 {"active": false}. For subrequests marked by nginx with
// `X-Auth-Request: 1` (this server listens on loopback, where only nginx calls it), the answer's
// `active` becomes 204 or 401 after the provider has built it.

import Provider from 'oidc-provider';
import Redis from 'ioredis';

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`bench/peer/server.mjs: ${name} must be set`);
    process.exit(2);
  }
  return v;
}

const [host, port] = env('PEER_LISTEN').split(':');
const issuer = env('PEER_ISSUER');
const redis = new Redis(env('PEER_REDIS_URL'), { keyPrefix: 'oidc:', enableAutoPipelining: false });

// The Redis adapter of oidc-provider's own example (example/adapters/redis.js), reduced to what
// a client_credentials / introspection deployment uses, with the same key layout and commands:
// a token is one string key `oidc:<Model>:<id>` (JSON) with the token's TTL; consumable models
// are hashes. A lookup is one GET.
const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

class RedisAdapter {
  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const multi = redis.multi();
    if (consumable.has(this.name)) {
      multi.hset(key, { payload: JSON.stringify(payload) });
    } else {
      multi.set(key, JSON.stringify(payload));
    }
    if (expiresIn) multi.expire(key, expiresIn);
    if (grantable.has(this.name) && payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      multi.rpush(grantKey, key);
      const ttl = await redis.ttl(grantKey);
      if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
    }
    if (payload.userCode) {
      multi.set(`userCode:${payload.userCode}`, id);
      if (expiresIn) multi.expire(`userCode:${payload.userCode}`, expiresIn);
    }
    if (payload.uid) {
      multi.set(`uid:${payload.uid}`, id);
      if (expiresIn) multi.expire(`uid:${payload.uid}`, expiresIn);
    }
    await multi.exec();
  }

  async find(id) {
    const data = consumable.has(this.name)
      ? await redis.hgetall(this.key(id))
      : await redis.get(this.key(id));
    if (!data || (typeof data === 'object' && Object.keys(data).length === 0)) return undefined;
    if (typeof data === 'string') return JSON.parse(data);
    const { payload, ...rest } = data;
    return { ...rest, ...JSON.parse(payload) };
  }

  async findByUid(uid) {
    const id = await redis.get(`uid:${uid}`);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode) {
    const id = await redis.get(`userCode:${userCode}`);
    return id ? this.find(id) : undefined;
  }

  async destroy(id) {
    await redis.del(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const multi = redis.multi();
    const tokens = await redis.lrange(`grant:${grantId}`, 0, -1);
    tokens.forEach((token) => multi.del(token.replace(/^oidc:/, '')));
    multi.del(`grant:${grantId}`);
    await multi.exec();
  }

  async consume(id) {
    await redis.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
  }
}

const provider = new Provider(issuer, {
  adapter: RedisAdapter,
  clients: [
    {
      client_id: 'bench-client',
      client_secret: env('PEER_CLIENT_SECRET'),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'read',
    },
    {
      // The resource server: nginx authenticates as this client to introspect.
      client_id: 'nginx-rs',
      client_secret: env('PEER_RS_SECRET'),
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['read'],
  features: {
    clientCredentials: { enabled: true },
    // Only the resource server may introspect (what a deployment would configure; the default
    // policy allows any authenticated client and logs a notice).
    introspection: { enabled: true, allowedPolicy: async (ctx, client) => client.clientId === 'nginx-rs' },
    devInteractions: { enabled: false },
  },
  // The bench's token must outlive the whole run (default: 10 minutes).
  ttl: { ClientCredentials: 3600 },
  // No cookie is used here; a key keeps the provider from warning about unsigned cookies.
  cookies: { keys: [env('PEER_RS_SECRET')] },
});

// The auth_request status mapping (see the top of this file).
provider.use(async (ctx, next) => {
  await next();
  if (ctx.get('x-auth-request') !== '1' || ctx.oidc?.route !== 'introspection') return;
  if (ctx.status === 200 && ctx.body?.active === true) {
    ctx.body = null;
    ctx.status = 204;
  } else if (ctx.status === 200 || ctx.status === 400) {
    // Inactive, unknown or missing token (400 invalid_request: no token): refused.
    ctx.body = null;
    ctx.status = 401;
  }
  // Anything else (401 invalid_client: nginx's credentials are wrong, 5xx) stays as it is, and
  // nginx answers 500: the bench fails loudly instead of measuring refusals.
});

provider.listen(Number(port), host, () => {
  console.log(`oidc-provider listening on ${host}:${port}, issuer ${issuer}`);
});
