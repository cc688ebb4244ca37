-- token_delete.lua — delete a token record and, for an access token, announce its revocation.
--
-- KEYS[1]: the token's key (`{prefix}<class>:{<hash>}`)
-- ARGV[1]: the revocation channel; ARGV[2] (optional): the announcement (`t:<hash>`) published
--          on it once the record is gone
-- Returns: the number of keys deleted (0 or 1).
-- A script rather than a MULTI with PUBLISH: on Redis Cluster the cluster client routes a
-- PUBLISH by its channel's slot, so the two could not share one transaction; inside a script
-- the PUBLISH runs on the key's node, and Redis Cluster forwards it to every node.
local n = redis.call('DEL', KEYS[1])
if ARGV[2] then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return n
