-- A second process for spec/integration/shared_store_spec.lua: sends one
-- payout at a time (blocking) on a file_store until the file `stop` exists.
-- arg: url key secret credential store_dir stop_file. Prints "sent N failed M".
local b2c = require("b2c")
local file_store = require("support.file_store")
local url, key, secret, credential, dir, stop = arg[1], arg[2], arg[3], arg[4], arg[5], arg[6]
local mpesa = assert(b2c.new({
  consumerKey = key, consumerSecret = secret, shortCode = "600996", initiatorName = "testapi",
  securityCredential = credential, baseUrl = url, resultUrl = url .. "/nowhere",
  queueTimeOutUrl = url .. "/nowhere", timeout = 10, tokenStore = file_store.new(dir),
}))
local sent, failed = 0, 0
repeat
  local ack = mpesa.b2c.send({ recipientPhone = "0708374149", amount = 100, remarks = "one by one" })
  sent = sent + 1
  if not ack then failed = failed + 1 end
  local f = io.open(stop, "rb")
  if f then f:close() end
until (f and sent >= 20) or sent >= 3000
io.write(string.format("sent %d failed %d\n", sent, failed))
mpesa:close()
