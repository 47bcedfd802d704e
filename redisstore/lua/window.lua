-- A subscription account is two keys plus one per limit, in one hash slot:
--   W, a hash: 'held:<limit>' the sum of open holds per limit, 'h:<id>' =
--      "<expiry µs> <token> <limit> <amount> ..." per open hold and
--      'r:<id>' = "<charged 0> <expiry µs> <1 if the hold lapsed, else 0>"
--      per receipt;
--   T, a sorted set of those 'h:' and 'r:' fields scored by expiry;
--   U, per limit, a hash of usage buckets: '<start µs>:<end µs>' = used.
local function wsweep(W, T, now, rttl)
  local due = redis.call('ZRANGEBYSCORE', T, '-inf', fmt(now))
  for _, m in ipairs(due) do
    local v = redis.call('HGET', W, m)
    redis.call('HDEL', W, m)
    redis.call('ZREM', T, m)
    if v and string.sub(m, 1, 2) == 'h:' then
      local f = words(v)
      for j = 3, #f - 1, 2 do
        local field = 'held:' .. f[j]
        local left = sub(int(redis.call('HGET', W, field)), int(f[j + 1]))
        if iszero(left) then
          redis.call('HDEL', W, field)
        else
          redis.call('HSET', W, field, str(left))
        end
      end
      local exp = fmt(tonumber(f[1]) + rttl)
      local r = 'r:' .. string.sub(m, 3)
      redis.call('HSET', W, r, '0 ' .. exp .. ' 1')
      redis.call('ZADD', T, exp, r)
    end
  end
end

-- settled drops U's lapsed buckets and returns the usage still counted,
-- when its oldest bucket lapses (0 when none) and the live buckets.
local function settled(U, now)
  local all = redis.call('HGETALL', U)
  local sum, resets, buckets = ZERO, 0, {}
  for i = 1, #all, 2 do
    local f = all[i]
    local e = tonumber(string.sub(f, string.find(f, ':', 1, true) + 1))
    if e <= now then
      redis.call('HDEL', U, f)
    else
      local used = int(all[i + 1])
      sum = satadd(sum, used)
      buckets[#buckets + 1] = {e, used}
      if resets == 0 or e < resets then resets = e end
    end
  end
  return sum, resets, buckets
end

-- freed_at returns when enough settled usage will have left the window to
-- free need: the end of the bucket that completes it, else the end of the
-- last bucket, else 0.
local function freed_at(buckets, need)
  if #buckets == 0 then return 0 end
  table.sort(buckets, function(x, y) return x[1] < y[1] end)
  local freed = ZERO
  for _, b in ipairs(buckets) do
    freed = satadd(freed, b[2])
    if cmp(freed, need) >= 0 then return b[1] end
  end
  return buckets[#buckets][1]
end

-- unhold removes an open hold's amounts; it reports whether there was one.
local function unhold(W, T, id)
  local h = redis.call('HGET', W, 'h:' .. id)
  if not h then return false end
  local f = words(h)
  for j = 3, #f - 1, 2 do
    local field = 'held:' .. f[j]
    local left = sub(int(redis.call('HGET', W, field)), int(f[j + 1]))
    if iszero(left) then
      redis.call('HDEL', W, field)
    else
      redis.call('HSET', W, field, str(left))
    end
  end
  redis.call('HDEL', W, 'h:' .. id)
  redis.call('ZREM', T, 'h:' .. id)
  return true
end

local function wreceipt(W, id, now)
  local r = redis.call('HGET', W, 'r:' .. id)
  if not r then return nil end
  local f = words(r)
  if tonumber(f[2]) <= now then return nil end
  return f
end
