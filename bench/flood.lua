-- wrk script (bench/proxy.sh, issue 11 P5): a flood of refused bearer tokens, a new random one
-- on every call, so no cache of earlier answers can help.
--
--   BENCH_FLOOD_KIND=unknown    well-formed access tokens nobody issued: "tsr_at_", 43 characters
--                               of base64url (32 random bytes) and the 6-character checksum
--                               (base64url of the big-endian CRC-32 of prefix and body), exactly
--                               as shared/src/token.rs makes them. They pass the format check;
--                               their last 8 body bytes are a forged keyed tag
--                               (shared/src/crypto/tag.rs), so since issue 11 P5 they are refused
--                               before the token lookup (they reached it before).
--   BENCH_FLOOD_KIND=malformed  the same with a wrong checksum: right prefix, length and alphabet,
--                               refused by the format check before any lookup.
--   BENCH_PATH                  the path to call (default /api/bench)
--
-- The token is built in request() on the load generator's core (LuaJIT, about a microsecond);
-- bench/proxy.sh reports wrk's CPU use so a generator-bound flood shows. No response() hook:
-- wrk's own "Non-2xx or 3xx responses" count must equal its request count (every call refused).
-- done() prints three tokens of the same generator ("sample: <token>"); bench/proxy.sh checks
-- them against a Python implementation of the format and sends them through the proxy.

local kind = os.getenv("BENCH_FLOOD_KIND") or "unknown"
local path = os.getenv("BENCH_PATH") or "/api/bench"
if kind ~= "unknown" and kind ~= "malformed" then
  error("BENCH_FLOOD_KIND must be unknown or malformed")
end

local bit = require("bit")
local band, bxor, rshift, lshift = bit.band, bit.bxor, bit.rshift, bit.lshift
local byte, concat = string.byte, table.concat
local random = math.random

local PREFIX = "tsr_at_"
local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local B64 = {}  -- value -> byte
local B64S = {} -- byte -> one-character string
for i = 1, 64 do B64[i - 1] = byte(ALPHABET, i); B64S[byte(ALPHABET, i)] = string.sub(ALPHABET, i, i) end

-- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as crc32fast::hash.
local CRC = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) == 1 then c = bxor(rshift(c, 1), 0xEDB88320) else c = rshift(c, 1) end
  end
  CRC[i] = c
end
local function crc_update(crc, b)
  return bxor(rshift(crc, 8), CRC[band(bxor(crc, b), 0xFF)])
end
local PREFIX_CRC = 0xFFFFFFFF
for i = 1, #PREFIX do PREFIX_CRC = crc_update(PREFIX_CRC, byte(PREFIX, i)) end

-- base64url without padding of the bytes in `src[1..n]`, appended to `out` from index `o`.
local function b64(src, n, out, o)
  local i = 1
  while i + 2 <= n do
    local v = src[i] * 65536 + src[i + 1] * 256 + src[i + 2]
    out[o] = B64[rshift(v, 18)]; out[o + 1] = B64[band(rshift(v, 12), 63)]
    out[o + 2] = B64[band(rshift(v, 6), 63)]; out[o + 3] = B64[band(v, 63)]
    o = o + 4; i = i + 3
  end
  local left = n - i + 1
  if left == 2 then
    local v = src[i] * 65536 + src[i + 1] * 256
    out[o] = B64[rshift(v, 18)]; out[o + 1] = B64[band(rshift(v, 12), 63)]
    out[o + 2] = B64[band(rshift(v, 6), 63)]
    o = o + 3
  elseif left == 1 then
    local v = src[i] * 65536
    out[o] = B64[rshift(v, 18)]; out[o + 1] = B64[band(rshift(v, 12), 63)]
    o = o + 2
  end
  return o
end

local raw, chars, sum, strs = {}, {}, {}, {}
local function token()
  for i = 1, 32 do raw[i] = random(0, 255) end
  local o = b64(raw, 32, chars, 1) -- 43 characters
  local crc = PREFIX_CRC
  for i = 1, o - 1 do crc = crc_update(crc, chars[i]) end
  crc = bxor(crc, 0xFFFFFFFF)
  if crc < 0 then crc = crc + 4294967296 end -- LuaJIT's bit ops are signed 32-bit
  sum[1] = band(rshift(crc, 24), 255); sum[2] = band(rshift(crc, 16), 255)
  sum[3] = band(rshift(crc, 8), 255); sum[4] = band(crc, 255)
  o = b64(sum, 4, chars, o) -- 6 characters
  if kind == "malformed" then
    -- Another character of the alphabet in the checksum's last position: a wrong checksum.
    local last = chars[o - 1]
    chars[o - 1] = (last == B64[0]) and B64[1] or B64[0]
  end
  for i = 1, o - 1 do strs[i] = B64S[chars[i]] end
  return PREFIX .. concat(strs, "", 1, o - 1)
end

-- The request as wrk.format builds it, split around the token: request() only concatenates.
local head, tail
local MARK = "@TOKEN@"

function init(args)
  -- Each wrk thread its own sequence (wrk starts every thread's Lua state the same way).
  math.randomseed(os.time() * 1000 + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 1000)
  local req = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. MARK })
  local at = string.find(req, MARK, 1, true)
  head, tail = string.sub(req, 1, at - 1), string.sub(req, at + #MARK)
end

function request()
  return head .. token() .. tail
end

function done(summary, latency, requests)
  for _ = 1, 3 do io.write("sample: ", token(), "\n") end
end
