-- device_step.lua — one step of an RFC 8628 device authorization, if it stands where the step
-- starts from (shared/src/store/devices.rs): `pending` → `authenticated` (the user logged in),
-- or `authenticated` → `approved` / `denied` (the user decided).
--
-- KEYS[1]: the device authorization (`{prefix}dev:{<device code hash>}`; fields: rec = the
--          request (JSON), cid = the client_id it was issued to, st = status, iv = interval
--          (s), last = last poll (ms), ident = the identity (JSON), bh = the browser's login
--          cookie hash)
-- ARGV[1]: the status it must be in ("pending" or "authenticated")
-- ARGV[2]: the status it moves to
-- ARGV[3], ARGV[4]: for "authenticated": the identity and the browser hash (else empty)
-- Returns: 1 when it moved, 0 when it is gone or stood elsewhere (nothing changed).
if redis.call('HGET', KEYS[1], 'st') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'st', ARGV[2])
if ARGV[2] == 'authenticated' then
  redis.call('HSET', KEYS[1], 'ident', ARGV[3], 'bh', ARGV[4])
end
return 1
