-- DEBIT: remove tokens unconditionally (into debt) or give them back.
-- KEYS: the bucket.
-- ARGV: seconds, nanoseconds (both '' for TIME), slack ms, the signed
--       debit times the interval (saturated), the largest offset allowed.
-- Returns seconds, nanoseconds and the new offset as two limbs.
local now = now_ns(ARGV[1], ARGV[2])
local k = KEYS[1]
local o = offset(k, now)
local d, limit = int(ARGV[4]), int(ARGV[5])
local n
if d[1] >= 0 then
  n = o
  if cmp(o, limit) < 0 then
    n = add(o, d)
    if cmp(n, limit) > 0 then n = limit end
  end
else
  n = max0(add(o, d))
end
if cmp(n, o) ~= 0 then keep(k, n, now, tonumber(ARGV[3])) end
return {now[1], now[2], n[1], n[2]}
