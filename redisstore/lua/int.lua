-- Exact 64-bit integers for Redis's Lua, whose numbers are doubles (exact
-- only up to 2^53). A value is a pair {hi, lo} meaning hi * 10^9 + lo with
-- 0 <= lo < 10^9, so nanosecond timestamps split into seconds and
-- nanoseconds, and every int64 has |hi| < 10^10. Values travel as decimal
-- strings (arguments, stored fields) and come back as two integer replies.
local B = 1000000000
local ZERO = {0, 0}
local MAXI = {9223372036, 854775807}  --  2^63 - 1
local MINI = {-9223372037, 145224192} -- -2^63

local function neg(a)
  if a[2] == 0 then return {-a[1], 0} end
  return {-a[1] - 1, B - a[2]}
end

-- int parses a canonical decimal string; false (a missing field) is zero.
local function int(s)
  if not s then return ZERO end
  local negative = string.sub(s, 1, 1) == '-'
  if negative then s = string.sub(s, 2) end
  local n = #s
  local a
  if n > 9 then
    a = {tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))}
  else
    a = {0, tonumber(s)}
  end
  if negative then return neg(a) end
  return a
end

local function add(a, b)
  local hi, lo = a[1] + b[1], a[2] + b[2]
  if lo >= B then return {hi + 1, lo - B} end
  return {hi, lo}
end

local function sub(a, b) return add(a, neg(b)) end

local function cmp(a, b)
  if a[1] ~= b[1] then
    if a[1] < b[1] then return -1 end
    return 1
  end
  if a[2] == b[2] then return 0 end
  if a[2] < b[2] then return -1 end
  return 1
end

local function iszero(a) return a[1] == 0 and a[2] == 0 end

local function max0(a)
  if a[1] < 0 then return ZERO end
  return a
end

local function str(a)
  if a[1] < 0 then return '-' .. str(neg(a)) end
  if a[1] == 0 then return string.format('%d', a[2]) end
  return string.format('%d%09d', a[1], a[2])
end

-- fmt renders a whole number below 2^53 without an exponent.
local function fmt(x) return string.format('%.0f', x) end
