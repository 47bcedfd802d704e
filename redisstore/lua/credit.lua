-- CREDIT: add to the balance, once per reference.
-- KEYS: A, T (see account.lua), C: the hash of credit references.
-- ARGV: amount, reference, reference TTL ms, key TTL ms.
-- Returns a code and two limbs: 0 credited (the balance after), 1 a
-- replay (the balance), 2 the reference was used with another amount (that
-- amount), 3 the balance would overflow.
local A, T, C = KEYS[1], KEYS[2], KEYS[3]
local bal = int(redis.call('HGET', A, 'bal'))
local prev = redis.call('HGET', C, ARGV[2])
if prev then
  if prev == ARGV[1] then return {1, bal[1], bal[2]} end
  local p = int(prev)
  return {2, p[1], p[2]}
end
local nb = add(bal, int(ARGV[1]))
if cmp(nb, MAXI) > 0 then return {3, 0, 0} end
redis.call('HSET', A, 'bal', str(nb))
redis.call('HSET', C, ARGV[2], ARGV[1])
redis.call('PEXPIRE', C, ARGV[3])
expire(A, T, nb, ARGV[4])
return {0, nb[1], nb[2]}
