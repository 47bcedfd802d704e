-- RESERVE: check the account and hold an amount, atomically.
-- KEYS: A, T (see account.lua).
-- ARGV: now µs, amount, request ID, hold expiry µs, call token, receipt
--       TTL µs, key TTL ms.
-- Returns a code, then two limbs: 0 held (the available balance after),
-- 1 duplicate request ID, 2 overdue (the balance), 3 credit required,
-- 4 insufficient balance (the available balance). A hold already placed
-- with the same token is this very call retried by the client after a
-- lost reply, and succeeds again.
local A, T = KEYS[1], KEYS[2]
local now, id, exp, token = tonumber(ARGV[1]), ARGV[3], ARGV[4], ARGV[5]
sweep(A, T, now, tonumber(ARGV[6]))
local bal = int(redis.call('HGET', A, 'bal'))
local held = int(redis.call('HGET', A, 'held'))
local open = redis.call('HGET', A, 'h:' .. id)
if open then
  if words(open)[3] ~= token then return {1, 0, 0} end
  local avail = sub(bal, held)
  return {0, avail[1], avail[2]}
end
if receipt(A, id, now) then return {1, 0, 0} end
local amount = int(ARGV[2])
local avail = sub(bal, held)
if bal[1] < 0 then return {2, bal[1], bal[2]} end
local paid = not iszero(amount)
if paid and iszero(bal) then return {3, 0, 0} end
if paid and cmp(avail, amount) < 0 then return {4, avail[1], avail[2]} end
held = add(held, amount)
local n = tonumber(redis.call('HGET', A, 'n') or '0') + 1
redis.call('HSET', A, 'h:' .. id, ARGV[2] .. ' ' .. exp .. ' ' .. token, 'held', str(held), 'n', fmt(n))
redis.call('ZADD', T, exp, 'h:' .. id)
expire(A, T, bal, ARGV[7])
avail = sub(bal, held)
return {0, avail[1], avail[2]}
