-- wrk script: anonymous train-ai opt-outs, each unique (thread id and counter in the nonce and
-- the content id), already in canonical JSON. Used by bench/load.sh.
local tid_counter = 0
function setup(thread)
  tid_counter = tid_counter + 1
  thread:set("tid", tid_counter)
end

local n = 0
function request()
  n = n + 1
  local nonce = tid * 1000000000 + n
  local body = string.format(
    '{"ids":["blake3:%064d"],"nonce":%d,"scope":["train-ai"],"time":1700000000,"type":"optout"}',
    nonce, nonce)
  return wrk.format("POST", "/v1/entries", {["Content-Type"] = "application/json"}, body)
end
