-- More helpers for the ledger and window scripts (see int.lua).
-- satadd adds non-negative amounts, saturating at 2^63 - 1.
local function satadd(a, b)
  local s = add(a, b)
  if cmp(s, MAXI) > 0 then return MAXI end
  return s
end

local function words(s)
  local t = {}
  for w in string.gmatch(s, '%S+') do t[#t + 1] = w end
  return t
end
