-- upstream_login_add.lua — index a login under an upstream session or subject (or mark the
-- session ended), so an upstream logout reaches it.
--
-- KEYS[1]: the index entry (a set of family ids)
-- ARGV[1]: the member to add (a family id, or the ended marker ARGV[3])
-- ARGV[2]: the least TTL in seconds the entry keeps from now (never shortened)
-- ARGV[3]: the ended marker
-- Returns: 1 when the entry holds the ended marker (the session ended upstream), else 0.
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
local left = redis.call('TTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('EXPIRE', KEYS[1], ttl)
return redis.call('SISMEMBER', KEYS[1], ARGV[3])
