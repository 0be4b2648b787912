-- Run by spec/c/lua_fork_host.c (spec/integration/fork_spec.lua): one client used
-- on both sides of a real fork(). Prints one "name value" line per fact;
-- the spec reads them. Arguments: mode, baseUrl, key, secret, password,
-- certificate, [caFile].
-- luacheck: globals fork wait getpid exit_now
local mode, url, key, secret, password, certificate, ca_file = ...
local b2c = require("b2c")

local mpesa = assert(b2c.new({
  consumerKey = key, consumerSecret = secret, shortCode = "600996", initiatorName = "testapi",
  initiatorPassword = password, certificate = certificate, baseUrl = url, caFile = ca_file,
  resultUrl = "http://127.0.0.1:9/r", queueTimeOutUrl = "http://127.0.0.1:9/t", timeout = 20,
}))

local function payout(ocid)
  return { recipientPhone = "0708374149", amount = 100, remarks = "fork spec",
    originatorConversationId = ocid }
end

-- Sends n payouts with this process's own OCIDs; counts acks carrying
-- them and every other outcome.
local function send_own(who, n)
  local own, other = 0, {}
  for i = 1, n do
    local ocid = string.format("%s-%d-%d", who, getpid(), i)
    local ack, err = mpesa.b2c.send(payout(ocid))
    if ack and ack.OriginatorConversationID == ocid then
      own = own + 1
    else
      other[#other + 1] = ack and ("ack for " .. tostring(ack.OriginatorConversationID))
        or (err.kind .. ": " .. err.message)
    end
  end
  return own, other
end

local function report(who, name, value)
  print(string.format("%s %s %s", who, name, tostring(value)))
end

local function drive(h, seconds)
  local deadline = os.time() + seconds
  while not h.done and os.time() <= deadline do mpesa:step(0.05) end
end

if mode == "blocking" then
  assert(mpesa.b2c.send(payout("warm-" .. getpid()))) -- a kept-alive connection
  local pid = fork()
  local who = pid == 0 and "child" or "parent"
  local own, other = send_own(who, 10)
  report(who, "own", own)
  for _, o in ipairs(other) do report(who, "other", o) end
  if pid == 0 then
    mpesa:close()
    exit_now(0)
  end
  report("parent", "child-exit", wait(pid))
  -- The child closed its copy: the parent's connection must still serve.
  own, other = send_own("after", 3)
  report("parent", "after", own)
  for _, o in ipairs(other) do report("parent", "other", o) end
elseif mode == "close" then
  -- The child only closes its copy: the parent's TLS session must live on.
  assert(mpesa.b2c.send(payout("warm-" .. getpid())))
  local pid = fork()
  if pid == 0 then
    mpesa:close()
    collectgarbage()
    exit_now(0)
  end
  report("parent", "child-exit", wait(pid))
  local own, other = send_own("after", 2)
  report("parent", "after", own)
  for _, o in ipairs(other) do report("parent", "other", o) end
elseif mode == "polled" then
  assert(mpesa.b2c.send(payout("warm-" .. getpid())))
  local h = assert(mpesa.b2c.start(payout("polled-" .. getpid())))
  mpesa:step(0) -- on its way
  local pid = fork()
  local who = pid == 0 and "child" or "parent"
  drive(h, 10)
  local ack, err = h:result()
  report(who, "polled", ack and "ack" or err.kind)
  if pid == 0 then
    local own = send_own("child", 2)
    report(who, "own", own)
    exit_now(0)
  end
  report("parent", "child-exit", wait(pid))
elseif mode == "token" then
  -- A polled token fetch under way at the fork: the child fetches its own.
  local h = assert(mpesa.b2c.start(payout("polled-" .. getpid())))
  local pid = fork()
  local who = pid == 0 and "child" or "parent"
  if pid == 0 then
    local t0 = os.time()
    local own = send_own("child", 1)
    report(who, "own", own)
    report(who, "seconds", os.time() - t0)
    drive(h, 10)
    local ack, err = h:result()
    report(who, "polled", ack and "ack" or err.kind)
    exit_now(0)
  end
  -- The parent goes on once the child is done: two processes fetching
  -- tokens at once knock out each other's (as on Daraja), and each
  -- retries a refusal only once. Meanwhile the parent's fetch cannot end,
  -- so a child waiting for it would be seen waiting.
  report("parent", "child-exit", wait(pid))
  drive(h, 20)
  local ack, err = h:result()
  report(who, "polled", ack and "ack" or err.kind)
end
mpesa:close()
