-- abuse.lua — the per-IP abuse rule: count refusals in a fixed window, block past a threshold.
--
-- KEYS[1]: the subject's refusal counter (`{prefix}abuse:{s:subject}:n`)
-- KEYS[2]: the subject's block marker (`{prefix}abuse:{s:subject}:block`), shared by every proxy
-- ARGV[1]: "strike" (count one refusal) or "check" (read the block only)
-- ARGV[2]: window seconds; ARGV[3]: refusals allowed per window; ARGV[4]: block seconds
-- Returns: the block's remaining milliseconds (0: not blocked).
-- The window opens with the first refusal (INCR + EXPIRE); the refusal that passes the
-- threshold sets the block (SET EX) and clears the counter, so the next window starts afresh.
if ARGV[1] == 'strike' then
  local n = redis.call('INCR', KEYS[1])
  if n == 1 then
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
  end
  if n > tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[4]))
    redis.call('DEL', KEYS[1])
  end
end
local left = redis.call('PTTL', KEYS[2])
if left < 0 then
  return 0
end
return left
