-- refresh_rotate.lua — rotate a refresh token within its family, detecting reuse
-- (RFC 9700 §4.14.2), with an optional grace period for a retried refresh whose answer was lost.
--
-- KEYS[1]: the family hash (fields: rec = FamilyRecord JSON, cur = hash of the one live
--          refresh token, revoked = "1" once revoked)
-- KEYS[2]: the family's grace record, same hash tag (fields: prev = hash of the token the last
--          rotation replaced, client = the client_id that presented it, succ = the successor
--          tokens sealed under a key derived from that token); it expires with the grace period
-- ARGV[1]: hash of the presented refresh token
-- ARGV[2]: hash of its replacement
-- ARGV[3]: the revocation channel; ARGV[4]: the announcement (`f:<id>`) published on reuse
-- ARGV[5]: the client_id presenting the token
-- ARGV[6]: the grace period in ms (0: none); ARGV[7]: the sealed successor (when ARGV[6] > 0)
-- Returns: {"ok", rec} after rotating; {"replay", rec, succ} when the presented token is the one
--          the last rotation replaced, presented again by the same client within the grace
--          period (nothing changes); {"reused"} for any other token that is not the live one
--          (the family is revoked here, atomically); {"revoked"}; {"gone"} (unknown/expired).
local f = redis.call('HMGET', KEYS[1], 'rec', 'cur', 'revoked')
if not f[1] then return {'gone'} end
if f[3] then return {'revoked'} end
if f[2] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2])
  local grace = tonumber(ARGV[6])
  if grace > 0 then
    redis.call('HSET', KEYS[2], 'prev', ARGV[1], 'client', ARGV[5], 'succ', ARGV[7])
    redis.call('PEXPIRE', KEYS[2], grace)
  end
  return {'ok', f[1]}
end
local g = redis.call('HMGET', KEYS[2], 'prev', 'client', 'succ')
if g[1] == ARGV[1] and g[2] == ARGV[5] and g[3] then
  return {'replay', f[1], g[3]}
end
redis.call('HSET', KEYS[1], 'revoked', '1')
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {'reused'}
