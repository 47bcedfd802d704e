-- BALANCE: the account's funds at now.
-- KEYS: A, T (see account.lua).
-- ARGV: now µs, receipt TTL µs, key TTL ms.
-- Returns the balance and the held amount (two limbs each), and the number
-- of open holds.
local A, T = KEYS[1], KEYS[2]
sweep(A, T, tonumber(ARGV[1]), tonumber(ARGV[2]))
local bal = int(redis.call('HGET', A, 'bal'))
local held = int(redis.call('HGET', A, 'held'))
local n = tonumber(redis.call('HGET', A, 'n') or '0')
if redis.call('EXISTS', A) == 1 then expire(A, T, bal, ARGV[3]) end
return {bal[1], bal[2], held[1], held[2], n}
