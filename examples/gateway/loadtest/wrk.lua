-- wrk script for scripts/load-wrk: POSTs to the demo gateway with one of
-- the 1000 keys that script's config holds, chosen at random per request;
-- one request in four is streamed, one in eight goes to /v1/messages.
-- The key format matches the config: sk-load-NNNNNN-0123456789abcdef.

local keys = tonumber(os.getenv("LOAD_KEYS") or "1000")
local n = 0

math.randomseed(os.time())

request = function()
  n = n + 1
  local key = string.format("sk-load-%06d-0123456789abcdef", math.random(0, keys - 1))
  local words = string.rep("lorem ipsum ", (n % 16) + 1)
  if n % 8 == 0 then
    return wrk.format("POST", "/v1/messages",
      {["X-Api-Key"] = key, ["Content-Type"] = "application/json"},
      '{"model":"fake-mini","max_tokens":64,"stream":' .. tostring(n % 16 == 0) ..
      ',"messages":[{"role":"user","content":"' .. words .. '"}]}')
  end
  local extra = ""
  if n % 4 == 1 then
    extra = ',"stream":true,"stream_options":{"include_usage":true}'
  end
  return wrk.format("POST", "/v1/chat/completions",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"},
    '{"model":"fake-echo","max_tokens":128,"messages":[{"role":"user","content":"' .. words .. '"}]' .. extra .. '}')
end
