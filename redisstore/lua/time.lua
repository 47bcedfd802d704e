-- now returns the time as {seconds, nanoseconds}: the caller's when it
-- passed one (a test clock), else the server's TIME, shared by every
-- replica. Effects replication makes TIME safe before writes.
local function now_ns(s, ns)
  if s ~= '' then return {tonumber(s), tonumber(ns)} end
  redis.replicate_commands()
  local t = redis.call('TIME')
  return {tonumber(t[1]), tonumber(t[2]) * 1000}
end

-- keep stores a bucket's offset off (refill time lacking, in ns) as its
-- theoretical arrival time, expiring once it is full again plus slack ms,
-- or deletes it when it is full: a missing bucket is a full one.
local function keep(k, off, now, slack)
  if iszero(off) then
    redis.call('DEL', k)
    return
  end
  local ms = off[1] * 1000 + math.ceil(off[2] / 1000000) + slack
  redis.call('SET', k, str(add(now, off)), 'PX', fmt(ms))
end

local function offset(k, now)
  local tat = redis.call('GET', k)
  if not tat then return ZERO end
  return max0(sub(int(tat), now))
end
