-- refresh_rotate.lua — rotate a refresh token within its family, detecting reuse
-- (RFC 9700 §4.14.2).
--
-- KEYS[1]: the family hash (fields: rec = FamilyRecord JSON, cur = hash of the one live
--          refresh token, revoked = "1" once revoked)
-- ARGV[1]: hash of the presented refresh token
-- ARGV[2]: hash of its replacement
-- ARGV[3]: the revocation channel; ARGV[4]: the announcement (`f:<id>`) published on reuse
-- Returns: {"ok", rec} after rotating; {"reused"} when the presented token is not the live one
--          (the family is revoked here, atomically); {"revoked"}; {"gone"} (unknown/expired).
local f = redis.call('HMGET', KEYS[1], 'rec', 'cur', 'revoked')
if not f[1] then return {'gone'} end
if f[3] then return {'revoked'} end
if f[2] ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return {'reused'}
end
redis.call('HSET', KEYS[1], 'cur', ARGV[2])
return {'ok', f[1]}
