-- app_for_client.lua — resolve a client_id to its app record in one round trip.
--
-- KEYS[1]: the `clients` registry hash (client_id -> app id)
-- KEYS[2]: the `apps` registry hash (app id -> JSON); same `{catalog}` hash tag as KEYS[1]
-- ARGV[1]: the client_id
-- Returns: the app's JSON, or nil when the client_id is unknown.
local app_id = redis.call('HGET', KEYS[1], ARGV[1])
if not app_id then return false end
return redis.call('HGET', KEYS[2], app_id)
