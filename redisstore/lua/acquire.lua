-- ACQUIRE: grant a lease when fewer than limit unexpired ones are held.
-- KEYS: the sorted set of leases (member "<µs>:<seq>", score its expiry in
--       µs), the key's sequence counter.
-- ARGV: now in µs ('' for TIME), limit, ttl in µs, slack ms.
-- Returns acquired (1/0), active leases, the new lease's expiry (or the
-- earliest one's on a denial), now, and the new lease's sequence number.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  redis.replicate_commands()
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local z, c = KEYS[1], KEYS[2]
redis.call('ZREMRANGEBYSCORE', z, '-inf', fmt(now))
local active = redis.call('ZCARD', z)
if active >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
  return {0, active, tonumber(first[2]), now, 0}
end
local seq = redis.call('INCR', c) % 4096
local exp = now + tonumber(ARGV[3])
redis.call('ZADD', z, fmt(exp), fmt(now) .. ':' .. seq)
local last = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
local ttl = fmt(math.ceil((tonumber(last[2]) - now) / 1000) + tonumber(ARGV[4]))
redis.call('PEXPIRE', z, ttl)
redis.call('PEXPIRE', c, ttl)
return {1, active + 1, exp, now, seq}
