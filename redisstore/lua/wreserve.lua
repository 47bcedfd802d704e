-- WRESERVE: hold amounts against every limit, only when all have room.
-- KEYS: W, T, then U per limit (see window.lua).
-- ARGV: now µs, request ID, hold expiry µs, call token, receipt TTL µs,
--       key TTL ms, then per limit: name, max, amount.
-- Returns 0 then, per limit, the usage after the hold (two limbs) and when
-- it resets; or 1 for a duplicate request ID; or 2, the index of the limit
-- that frees up last, its usage (two limbs) and the wait in µs.
local W, T = KEYS[1], KEYS[2]
local now, id, exp, token = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
wsweep(W, T, now, tonumber(ARGV[5]))
local open = redis.call('HGET', W, 'h:' .. id)
local again = open and words(open)[2] == token
if (open and not again) or wreceipt(W, id, now) then return {1} end
local n = #KEYS - 2
local usage, worst, wait = {}, 0, 0
for i = 1, n do
  local name, max, x = ARGV[4 + 3 * i], int(ARGV[5 + 3 * i]), int(ARGV[6 + 3 * i])
  local sum, resets, buckets = settled(KEYS[2 + i], now)
  local used = satadd(sum, int(redis.call('HGET', W, 'held:' .. name)))
  if again then used = sub(used, x) end
  usage[i] = {used, resets}
  if not again and cmp(x, sub(max, used)) > 0 then
    local w = 1000000
    local at = freed_at(buckets, sub(satadd(used, x), max))
    if at > now and at - now > w then w = at - now end
    if worst == 0 or w > wait then worst, wait = i, w end
  end
end
if worst > 0 then
  local u = usage[worst][1]
  return {2, worst, u[1], u[2], wait}
end
local record = {exp, token}
local out = {0}
for i = 1, n do
  local name, x = ARGV[4 + 3 * i], int(ARGV[6 + 3 * i])
  if not again and not iszero(x) then
    local field = 'held:' .. name
    redis.call('HSET', W, field, str(satadd(int(redis.call('HGET', W, field)), x)))
  end
  record[#record + 1] = name
  record[#record + 1] = ARGV[6 + 3 * i]
  local u = satadd(usage[i][1], x)
  out[#out + 1] = u[1]
  out[#out + 1] = u[2]
  out[#out + 1] = usage[i][2]
end
if not again then
  redis.call('HSET', W, 'h:' .. id, table.concat(record, ' '))
  redis.call('ZADD', T, exp, 'h:' .. id)
end
redis.call('PEXPIRE', W, ARGV[6])
redis.call('PEXPIRE', T, ARGV[6])
return out
