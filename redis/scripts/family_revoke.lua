-- family_revoke.lua — mark a token family revoked.
--
-- KEYS[1]: the family hash
-- ARGV[1]: TTL in seconds for a tombstone, when the family does not exist yet
-- ARGV[2]: the revocation channel; ARGV[3]: the announcement published on it (`f:<id>`)
-- Returns: 1 when the family existed (its TTL is kept), 0 when a tombstone was written instead.
-- The tombstone matters for code replays racing the first redemption: the replay may revoke the
-- family before the winner has created it, and the winner's later HSET keeps `revoked`.
redis.call('PUBLISH', ARGV[2], ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return 1
end
redis.call('HSET', KEYS[1], 'revoked', '1')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 0
