-- CLOSE: settle a hold (charge an amount) or release it (charge 0).
-- KEYS: A, T (see account.lua).
-- ARGV: now µs, request ID, charge, receipt expiry µs, receipt TTL µs, key
--       TTL ms.
-- Returns a code, the amount charged and the balance after (two limbs
-- each): 0 closed now, 1 a replay of the first close, 2 the balance would
-- overflow (nothing changed).
local A, T = KEYS[1], KEYS[2]
local now, id, rexp = tonumber(ARGV[1]), ARGV[2], ARGV[4]
sweep(A, T, now, tonumber(ARGV[5]))
local bal = int(redis.call('HGET', A, 'bal'))
local r = receipt(A, id, now)
if r and r[3] == '0' then
  local c = int(r[1])
  return {1, c[1], c[2], bal[1], bal[2]}
end
local charge = int(ARGV[3])
local nb = sub(bal, charge)
if cmp(nb, MINI) < 0 then return {2, 0, 0, 0, 0} end
local h = redis.call('HGET', A, 'h:' .. id)
if h then
  local held = sub(int(redis.call('HGET', A, 'held')), int(words(h)[1]))
  local n = tonumber(redis.call('HGET', A, 'n')) - 1
  redis.call('HDEL', A, 'h:' .. id)
  redis.call('ZREM', T, 'h:' .. id)
  redis.call('HSET', A, 'held', str(held), 'n', fmt(n))
end
redis.call('HSET', A, 'bal', str(nb), 'r:' .. id, ARGV[3] .. ' ' .. rexp .. ' 0')
redis.call('ZADD', T, rexp, 'r:' .. id)
expire(A, T, nb, ARGV[6])
return {0, charge[1], charge[2], nb[1], nb[2]}
