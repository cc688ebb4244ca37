-- code_claim.lua — redeem an authorization code at most once (RFC 6749 §4.1.2).
--
-- KEYS[1]: the code's hash (fields: rec = CodeRecord JSON, used = family id once redeemed)
-- ARGV[1]: the family id the caller will mint under if it wins
-- Returns: "won" when this call redeemed the code; "used:<family>" when an earlier redemption
--          did (a replay: the caller revokes that family); "gone" when the code is unknown or
--          expired. The key is kept until its TTL so replays stay detectable.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if redis.call('HSETNX', KEYS[1], 'used', ARGV[1]) == 1 then return 'won' end
return 'used:' .. redis.call('HGET', KEYS[1], 'used')
