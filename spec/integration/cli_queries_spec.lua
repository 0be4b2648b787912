-- `b2c status` and `b2c balance`, run as operators run them (bin/b2c)
-- against the simulator: the query sent, and with --listen the result
-- received and explained, as text and as JSON.
local b2c = require("b2c")
local json = require("b2c.json")
local shell = require("support.shell")
local sim = require("support.sim")
local files = require("support.files")
local socket = require("socket")
local free_port = require("support.free_port")

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("b2c status and b2c balance (the commands)", function()
  local s, dir, settings

  -- a config file of b2c.new settings; `changes` overrides some
  local function config(changes)
    local cfg = {}
    for k, v in pairs(settings) do cfg[k] = v end
    for k, v in pairs(changes or {}) do cfg[k] = v end
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(json.encode(cfg))
    f:close()
    return path
  end

  -- exit code, stdout, stderr
  local function b2c_cmd(args)
    local err = os.tmpname()
    local _, out, code = shell.run("bin/b2c " .. args .. " </dev/null 2>" .. q(err))
    local errtext = files.must(err)
    os.remove(err)
    return code, out, errtext
  end

  local function pay(phone)
    local mpesa = assert(b2c.new(settings))
    local ack = assert(mpesa.b2c.send({ recipientPhone = phone or "0708374149", amount = 500, remarks = "CLI" }))
    mpesa:close()
    return ack.OriginatorConversationID
  end

  setup(function()
    s = sim.start({ callbackDelay = 0.05 })
    dir = files.tempdir()
    settings = s:settings({ resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere",
      timeout = 10 })
  end)
  teardown(function()
    if s then s:stop() end
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("status OCID sends the query and says where the result goes", function()
    local ocid = pay()
    local cfg = config()
    local code, out, err = b2c_cmd("status " .. ocid .. " --config " .. cfg)
    assert.are.equal(0, code, err)
    assert.matches("accepted; the result goes to " .. s.url .. "/nowhere, not to this command", out, 1, true)
    assert.matches("query ConversationID:%s+AG_", out)
    local queries = s:stats().queries
    assert.are.equal(ocid, queries[#queries].asked.originalConversationId)
    code, out = b2c_cmd("status " .. ocid .. " --config " .. cfg .. " --json")
    assert.are.equal(0, code)
    local doc = json.decode(out)
    assert.are.equal("accepted", doc.state)
    assert.are.equal(ocid, doc.originatorConversationId)
    assert.matches("^AG_", doc.query.conversationId)
    assert.are.equal(s.url .. "/nowhere", doc.resultUrl)
    os.remove(cfg)
  end)

  it("status --listen waits for the result and prints the verdict", function()
    local ocid = pay()
    local cfg = config()
    local code, out, err = b2c_cmd("status " .. ocid .. " --config " .. cfg .. " --listen 0 --wait 30")
    assert.are.equal(0, code, err)
    assert.matches("waiting up to 30 s on 127%.0%.0%.1:%d+", err)
    assert.matches("verdict:%s+completed %(KES 500, receipt %u", out)
    assert.matches("payout OCID:%s+" .. ocid:gsub("%-", "%%-"), out)
    assert.matches("from:%s+127%.0%.0%.1 %(not a published Safaricom address%)", out)
    os.remove(cfg)
  end)

  it("status --listen --json: the verdict with stable keys", function()
    local ocid = pay()
    local cfg = config()
    local code, out, err = b2c_cmd("status " .. ocid .. " --config " .. cfg .. " --listen 127.0.0.1:0 --wait 30 --json")
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    local doc = json.decode(out)
    assert.are.equal("status", doc.command)
    assert.are.equal("answered", doc.state)
    assert.are.equal("completed", doc.result.verdict)
    assert.are.equal(500, doc.result.payout.amount)
    assert.are.equal(ocid, doc.result.payout.originatorConversationId)
    assert.is_false(doc.result.payout.queryFailed)
    assert.are.equal(doc.query.conversationId, doc.result.conversationId)
    -- the query told Daraja to answer to the listener, on a path with a token
    assert.matches("^http://127%.0%.0%.1:%d+/b2c/%x+$", doc.resultUrl)
    assert.are.same({ address = "127.0.0.1", safaricom = false }, doc.from)
    os.remove(cfg)
  end)

  it("status --receipt asks by the M-Pesa receipt", function()
    local ocid = pay()
    local receipt
    for _, p in ipairs(s:stats().payouts) do if p.ocid == ocid then receipt = p.receipt end end
    assert.is_string(receipt)
    local cfg = config()
    local code, out, err = b2c_cmd("status --receipt " .. receipt .. " --config " .. cfg
      .. " --listen 0 --wait 30 --json")
    assert.are.equal(0, code, err)
    local doc = json.decode(out)
    assert.are.equal(receipt, doc.receipt)
    assert.are.equal("completed", doc.result.verdict)
    assert.are.equal(ocid, doc.result.payout.originatorConversationId)
    os.remove(cfg)
  end)

  it("status of a payout M-Pesa never saw: not_found", function()
    local cfg = config()
    local code, out = b2c_cmd("status never-sent-17 --config " .. cfg .. " --listen 0 --wait 30 --json")
    assert.are.equal(0, code)
    assert.are.equal("not_found", json.decode(out).result.verdict)
    os.remove(cfg)
  end)

  it("a query Daraja answers as failed (a wrong initiator password: 2001) exits 1", function()
    local cfg = config({ initiatorPassword = "not-the-password" })
    local code, out = b2c_cmd("status some-ocid --config " .. cfg .. " --listen 0 --wait 30 --json")
    assert.are.equal(1, code)
    local doc = json.decode(out)
    assert.are.equal("answered", doc.state)
    assert.are.equal("pending", doc.result.verdict)
    assert.is_true(doc.result.payout.queryFailed)
    assert.are.equal(2001, doc.result.resultCode)
    code = b2c_cmd("balance --config " .. cfg .. " --listen 0 --wait 30")
    assert.are.equal(1, code)
    os.remove(cfg)
  end)

  it("no result within --wait: exit 3, and the listener refuses what is not its own", function()
    -- the simulator holds its answer past the wait
    s:config({ callbackDelay = 60 })
    finally(function() s:config({ callbackDelay = 0.05 }) end)
    local port = free_port()
    local cfg = config()
    local outfile = dir .. "/out"
    local pid_file = dir .. "/pid"
    os.execute("(bin/b2c status x --config " .. cfg .. " --listen 127.0.0.1:" .. port .. " --wait 8 "
      .. "</dev/null >" .. q(outfile) .. " 2>&1; echo $? >" .. q(outfile .. ".rc")
      .. ") & echo $! >" .. q(pid_file))
    local function request(raw)
      for _ = 1, 200 do
        local c = socket.tcp()
        c:settimeout(5)
        if c:connect("127.0.0.1", port) then
          c:send(raw)
          local line = c:receive("*l")
          c:close()
          return line
        end
        c:close()
        socket.sleep(0.02)
      end
    end
    local forged = '{"Result":{"ResultCode":0,"ResultDesc":"ok","ConversationID":"AG_x",'
      .. '"OriginatorConversationID":"y"}}'
    local wrong_path = request("POST /b2c/guessed HTTP/1.1\r\nContent-Length: " .. #forged .. "\r\n\r\n" .. forged)
    local get = request("GET / HTTP/1.1\r\n\r\n")
    local rc
    for _ = 1, 600 do
      rc = files.read(outfile .. ".rc")
      if rc and rc ~= "" then break end
      socket.sleep(0.05)
    end
    assert.are.equal("HTTP/1.1 404 Not Found", wrong_path)
    assert.are.equal("HTTP/1.1 405 Method Not Allowed", get)
    assert.are.equal("3", (rc or ""):match("%d+"))
    assert.matches("no result within 8 s", files.must(outfile))
    os.remove(cfg)
  end)

  it("balance --listen prints the accounts, --json lists them", function()
    local cfg = config()
    local code, out, err = b2c_cmd("balance --config " .. cfg .. " --listen 0 --wait 30")
    assert.are.equal(0, code, err)
    assert.matches("kind:%s+Account Balance result", out)
    assert.matches("Utility Account%s+KES %d+", out)
    code, out = b2c_cmd("balance --config " .. cfg .. " --listen 0 --wait 30 --json")
    assert.are.equal(0, code)
    local doc = json.decode(out)
    assert.are.equal("balance", doc.command)
    local names = {}
    for _, a in ipairs(doc.result.accounts) do names[a.name] = a end
    assert.are.equal("KES", names["Utility Account"].currency)
    assert.is_number(names["Utility Account"].amount)
    code, out = b2c_cmd("balance --config " .. cfg)
    assert.are.equal(0, code)
    assert.matches("accepted", out)
    os.remove(cfg)
  end)

  it("errors: text or one JSON line on stderr, stdout empty, meaningful exit codes", function()
    local cfg = config()
    local code, out, err = b2c_cmd("status 'bad ocid!' --config " .. cfg .. " --json")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    local e = json.decode(err).error
    assert.are.equal("validation", e.kind)
    assert.are.equal("originatorConversationId", e.field)
    code, out, err = b2c_cmd("status --config " .. cfg)
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("give the payout's OriginatorConversationID", err)
    code, out, err = b2c_cmd("status x --json")
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.are.equal("usage", json.decode(err).error.kind)
    code, out, err = b2c_cmd("balance --config /nonexistent.json --json")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.are.same({ kind = "input", field = "--config" },
      { kind = json.decode(err).error.kind, field = json.decode(err).error.field })
    local unreachable = config({ baseUrl = "http://127.0.0.1:9" })
    code, out, err = b2c_cmd("balance --config " .. unreachable .. " --json")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    e = json.decode(err).error
    assert.are.equal("network", e.kind)
    assert.is_true(e.retryable)
    code, out, err = b2c_cmd("balance --config " .. cfg .. " --wait 5")
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("%-%-wait needs %-%-listen", err)
    os.remove(unreachable)
    os.remove(cfg)
  end)
end)
