-- One "machine" of spec/integration/redis_fleet_spec.lua: a process paying
-- out on a Redis tokenStore until the file `stop` exists, in rounds of a
-- polled sendBatch (8 payouts, 4 at once) and two blocking sends.
-- arg: url key secret credential redis_url stop_file.
-- Prints "accepted A store S other O" and the first other error.
local b2c = require("b2c")
local url, key, secret, credential, redis_url, stop = arg[1], arg[2], arg[3], arg[4], arg[5], arg[6]
local mpesa = assert(b2c.new({
  consumerKey = key, consumerSecret = secret, shortCode = "600996", initiatorName = "testapi",
  securityCredential = credential, baseUrl = url, resultUrl = url .. "/nowhere",
  queueTimeOutUrl = url .. "/nowhere", timeout = 10, tokenStore = redis_url,
}))
local PAYOUT = { recipientPhone = "0708374149", amount = 100, remarks = "fleet" }
local batch = {}
for i = 1, 8 do batch[i] = PAYOUT end
local accepted, store, other, first = 0, 0, 0, nil
local sleep = require("b2c.redis_core").sleep

local function count(err)
  if not err then
    accepted = accepted + 1
  elseif err.kind == "store" then
    store = store + 1
  else
    other = other + 1
    first = first or (err.kind .. ": " .. err.message)
  end
end

repeat
  local store_before = store
  local report = assert(mpesa.b2c.sendBatch(batch, { concurrency = 4, keepResults = true }))
  for _, res in ipairs(report.results) do count(res.err) end
  for _ = 1, 2 do
    local _, err = mpesa.b2c.send(PAYOUT)
    count(err)
  end
  if store > store_before then sleep(0.1) end -- retryable: back off a little
  local f = io.open(stop, "rb")
  if f then f:close() end
until f
io.write(string.format("accepted %d store %d other %d %s\n", accepted, store, other, first or ""))
mpesa:close()
