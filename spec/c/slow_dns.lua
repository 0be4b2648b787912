-- Run by spec/c/lua_fork_host.c built with spec/c/slow_resolver.c
-- (spec/integration/slow_dns_spec.lua): a baseUrl whose name never resolves,
-- timeout and connectTimeout 1 s. Prints "name value" lines.
-- luacheck: globals slow_lookups
local certificate = ...
local b2c = require("b2c")
local socket = require("socket")

local mpesa = assert(b2c.new({
  consumerKey = "key", consumerSecret = "secret", shortCode = "600996", initiatorName = "testapi",
  initiatorPassword = "password", certificate = certificate,
  baseUrl = "https://slow.b2c-dns.invalid", timeout = 1, connectTimeout = 1,
  resultUrl = "https://example.com/r", queueTimeOutUrl = "https://example.com/t",
}))
local payout = { recipientPhone = "0708374149", amount = 100, remarks = "slow dns" }

local t0 = socket.gettime()
local ack, err = mpesa.b2c.send(payout)
print("send-seconds", string.format("%.2f", socket.gettime() - t0))
print("send-kind", ack and "ack" or err.kind)

t0 = socket.gettime()
local h = assert(mpesa.b2c.start(payout))
local longest = 0
while not h.done and socket.gettime() - t0 < 20 do
  local s0 = socket.gettime()
  mpesa:step(0)
  longest = math.max(longest, socket.gettime() - s0)
  socket.sleep(0.01)
end
print("polled-seconds", string.format("%.2f", socket.gettime() - t0))
print("longest-step", string.format("%.3f", longest))
print("polled-kind", h.done and (h.ack and "ack" or h.err.kind) or "not-done")
print("lookups", slow_lookups())
mpesa:close()
