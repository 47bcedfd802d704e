-- TAKE: take every charge or none; the exact path, for the calls that
-- takefast.lua hands over.
-- KEYS: the bucket of each charge, in order (a bucket may repeat).
-- ARGV: seconds, nanoseconds (both '' for TIME), slack ms, then per charge
--       its cost times the interval and its window, in ns.
-- Returns seconds, nanoseconds, 1 when all were taken (else 0), then per
-- charge the offset its bucket had before the call, as two limbs.
local now = now_ns(ARGV[1], ARGV[2])
local slack = tonumber(ARGV[3])
local off, orig, changed = {}, {}, {}
local out = {now[1], now[2], 1}
for i, k in ipairs(KEYS) do
  local o = off[k]
  if not o then
    o = offset(k, now)
    off[k] = o
    orig[k] = o
  end
  out[#out + 1] = orig[k][1]
  out[#out + 1] = orig[k][2]
  local cost = int(ARGV[2 + 2 * i])
  local n = add(o, cost)
  if cmp(n, int(ARGV[3 + 2 * i])) <= 0 then
    off[k] = n
    if not iszero(cost) then changed[k] = true end
  else
    out[3] = 0
  end
end
if out[3] == 1 then
  for _, k in ipairs(KEYS) do
    if changed[k] then
      keep(k, off[k], now, slack)
      changed[k] = nil
    end
  end
end
return out
