-- catalog_commit.lua — apply a conditional multi-field update to the registry, atomically.
--
-- KEYS: the six registry hashes, in this order (all share the `{catalog}` hash tag, so the
--       script stays within one Redis Cluster slot):
--       1 developers (id -> JSON)   2 developer_emails (email -> id)   3 apps (id -> JSON)
--       4 app_names (developer_id/name -> app id)   5 clients (client_id -> app id)
--       6 products (name -> JSON)
-- ARGV[1]: JSON {"checks":[{"t":i,"f":field,"v":value|null}],
--                "sets":[{"t":i,"f":field,"v":value}], "dels":[{"t":i,"f":field}]}
--          where `t` is a 1-based index into KEYS. A check with v = null requires the field to
--          be absent; otherwise the field must hold exactly v (optimistic concurrency).
-- ARGV[2]: the revocation channel; ARGV[3..]: announcements (`a:<app id>`) published on it
--          once the update is applied, so proxies drop their cached copies of those apps.
-- Returns: 0 when every check held and all sets and dels were applied;
--          n > 0 when check n (1-based) failed, in which case nothing was written.
local tx = cjson.decode(ARGV[1])
for i, c in ipairs(tx.checks) do
  local cur = redis.call('HGET', KEYS[c.t], c.f)
  if c.v == cjson.null then
    if cur ~= false then return i end
  elseif cur ~= c.v then
    return i
  end
end
for _, d in ipairs(tx.dels) do
  redis.call('HDEL', KEYS[d.t], d.f)
end
for _, s in ipairs(tx.sets) do
  redis.call('HSET', KEYS[s.t], s.f, s.v)
end
for i = 3, #ARGV do
  redis.call('PUBLISH', ARGV[2], ARGV[i])
end
return 0
