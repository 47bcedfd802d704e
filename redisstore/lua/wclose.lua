-- WCLOSE: settle a window hold (count actual usage) or release it.
-- KEYS: W, T, then U per limit (see window.lua).
-- ARGV: now µs, request ID, receipt expiry µs, receipt TTL µs, key TTL
--       ms, slack ms, then per limit: bucket field, bucket end µs, amount
--       ('' to count nothing: a release).
-- Returns {1} for a replay of the first close, else {0}.
local W, T = KEYS[1], KEYS[2]
local now, id, rexp = tonumber(ARGV[1]), ARGV[2], ARGV[3]
wsweep(W, T, now, tonumber(ARGV[4]))
local r = wreceipt(W, id, now)
if r and r[3] == '0' then return {1} end
unhold(W, T, id)
local slack = tonumber(ARGV[6])
for i = 1, #KEYS - 2 do
  local U, field, e, x = KEYS[2 + i], ARGV[4 + 3 * i], tonumber(ARGV[5 + 3 * i]), ARGV[6 + 3 * i]
  if x ~= '' and x ~= '0' then
    redis.call('HSET', U, field, str(satadd(int(redis.call('HGET', U, field)), int(x))))
    local ttl = math.ceil((e - now) / 1000) + slack
    if redis.call('PTTL', U) < ttl then redis.call('PEXPIRE', U, fmt(ttl)) end
  end
end
redis.call('HSET', W, 'r:' .. id, '0 ' .. rexp .. ' 0')
redis.call('ZADD', T, rexp, 'r:' .. id)
redis.call('PEXPIRE', W, ARGV[5])
redis.call('PEXPIRE', T, ARGV[5])
return {0}
