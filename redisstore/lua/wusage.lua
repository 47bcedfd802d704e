-- WUSAGE: every limit's usage at now.
-- KEYS: W, T, then U per limit (see window.lua).
-- ARGV: now µs, receipt TTL µs, then the limits' names.
-- Returns, per limit, the usage (two limbs) and when it resets.
local W, T = KEYS[1], KEYS[2]
local now = tonumber(ARGV[1])
wsweep(W, T, now, tonumber(ARGV[2]))
local out = {}
for i = 1, #KEYS - 2 do
  local sum, resets = settled(KEYS[2 + i], now)
  local used = satadd(sum, int(redis.call('HGET', W, 'held:' .. ARGV[2 + i])))
  out[#out + 1] = used[1]
  out[#out + 1] = used[2]
  out[#out + 1] = resets
end
return out
