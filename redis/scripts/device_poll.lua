-- device_poll.lua — one poll of the token endpoint by a device (RFC 8628 §3.4, §3.5), on the
-- Redis clock, so every broker instance keeps the same pace.
--
-- KEYS[1]: the device authorization (`{prefix}dev:{<device code hash>}`, see device_step.lua)
-- ARGV[1]: slack in ms: a poll this much sooner than the interval still counts as on time
-- ARGV[2]: the client_id polling (field cid holds the one the code was issued to)
-- Returns: {"gone"} when unknown or expired; {"other_client"} (nothing changed) when the code
--          is another client's; {"slow_down", interval} when polled sooner than
--          the interval since the last poll (the interval grows by 5 s for this and every
--          later poll, §3.5); else the status — {"pending"}, {"denied"}, {"consumed"}, or
--          {"approved", rec, ident}, which also marks it consumed, so its tokens are handed
--          out once. Every poll that is answered records its time.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
if redis.call('HGET', KEYS[1], 'cid') ~= ARGV[2] then return {'other_client'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(redis.call('HGET', KEYS[1], 'iv') or '5')
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
redis.call('HSET', KEYS[1], 'last', string.format('%d', now))
if last > 0 and now - last < interval * 1000 - tonumber(ARGV[1]) then
  interval = interval + 5
  redis.call('HSET', KEYS[1], 'iv', interval)
  return {'slow_down', tostring(interval)}
end
local st = redis.call('HGET', KEYS[1], 'st')
if st == 'approved' then
  redis.call('HSET', KEYS[1], 'st', 'consumed')
  local f = redis.call('HMGET', KEYS[1], 'rec', 'ident')
  return {'approved', f[1], f[2]}
end
if st == 'denied' or st == 'consumed' then return {st} end
return {'pending'}
