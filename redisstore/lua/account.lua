-- An account of the ledger is two keys in one hash slot:
--   A, a hash: 'bal' the balance, 'held' the sum of open holds, 'n' their
--      number, 'h:<id>' = "<amount> <expiry µs> <token>" per open hold and
--      'r:<id>' = "<charged> <expiry µs> <1 if the hold lapsed, else 0>"
--      per receipt;
--   T, a sorted set of those 'h:' and 'r:' fields scored by expiry.
-- Every script first sweeps what lapsed by the caller's now.
local function sweep(A, T, now, rttl)
  local due = redis.call('ZRANGEBYSCORE', T, '-inf', fmt(now))
  if #due == 0 then return end
  local held = int(redis.call('HGET', A, 'held'))
  local n = tonumber(redis.call('HGET', A, 'n') or '0')
  for _, m in ipairs(due) do
    local v = redis.call('HGET', A, m)
    redis.call('HDEL', A, m)
    redis.call('ZREM', T, m)
    if v and string.sub(m, 1, 2) == 'h:' then
      -- A lapsed hold gives its amount back and leaves a receipt, so that
      -- its ID stays taken and a late settlement still charges.
      local f = words(v)
      held = sub(held, int(f[1]))
      n = n - 1
      local exp = fmt(tonumber(f[2]) + rttl)
      local r = 'r:' .. string.sub(m, 3)
      redis.call('HSET', A, r, '0 ' .. exp .. ' 1')
      redis.call('ZADD', T, exp, r)
    end
  end
  redis.call('HSET', A, 'held', str(held), 'n', fmt(n))
end

-- expire keeps an account with money forever and lets any other lapse
-- once everything in it has (ttl ms after the last write), deleting it at
-- once when nothing is left.
local function expire(A, T, bal, ttl)
  if not iszero(bal) then
    redis.call('PERSIST', A)
    redis.call('PERSIST', T)
  elseif redis.call('ZCARD', T) == 0 then
    redis.call('DEL', A, T)
  else
    redis.call('PEXPIRE', A, ttl)
    redis.call('PEXPIRE', T, ttl)
  end
end

-- receipt returns a live receipt's fields, or nil.
local function receipt(A, id, now)
  local r = redis.call('HGET', A, 'r:' .. id)
  if not r then return nil end
  local f = words(r)
  if tonumber(f[2]) <= now then return nil end
  return f
end
