-- `b2c ledger ...` run as operators run it (bin/b2c), on a ledger filled by
-- real payouts against the simulator.
local b2c = require("b2c")
local json = require("b2c.json")
local ledger = require("b2c.ledger")
local shell = require("support.shell")
local sim = require("support.sim")

local files = require("support.files")

describe("b2c ledger (the command)", function()
  local ctx = sim.session({ callbackDelay = 0.05 })
  local dir, url, cfg

  local function run(args)
    local _, out, code = shell.run("bin/b2c ledger " .. args .. " </dev/null")
    return code, out
  end

  setup(function()
    dir = files.tempdir()
    url = "sqlite://" .. dir .. "/ledger.db"
    cfg = ctx.s:settings({ resultUrl = ctx.receiver:urlFor("/result"),
      queueTimeOutUrl = ctx.receiver:urlFor("/timeout"), timeout = 5 })
    local f = assert(io.open(dir .. "/config.json", "wb"))
    f:write(json.encode(cfg))
    f:close()
    local book = assert(ledger.open(url))
    local mpesa = assert(b2c.new(cfg))
    assert(book:pay(mpesa, { recipientPhone = "0708374149", amount = 500, remarks = "CLI spec",
      reference = "=HYPERLINK(1)" }))
    book:pay(mpesa, { recipientPhone = "0708374149", amount = 700, remarks = "x sim:fault=drop",
      reference = "inv-unknown" })
    mpesa:close()
    book:close()
  end)
  teardown(function()
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  it("lists payouts, filters by state, and shows one with its attempts", function()
    local code, out = run("list --db " .. url)
    assert.are.equal(0, code)
    assert.matches("accepted", out)
    assert.matches("unknown", out)
    code, out = run("list --state unknown --db " .. url)
    assert.are.equal(0, code)
    assert.matches("inv%-unknown", out)
    assert.not_matches("accepted", out)
    code, out = run("show inv-unknown --db " .. url)
    assert.are.equal(0, code)
    assert.matches("state%s+unknown", out)
    assert.matches("attempt%s+2 unknown", out)
    code, out = run("show nope --db " .. url)
    assert.are.equal(1, code)
    assert.matches("no payout nope", out)
  end)

  it("counts by state", function()
    local code, out = run("stats --db " .. url)
    assert.are.equal(0, code)
    assert.matches("accepted%s+1%s+500", out)
    assert.matches("unknown%s+1%s+700", out)
    assert.matches("total%s+2", out)
  end)

  it("list, show and stats --json: one document on stdout, the fields the text shows, no secret", function()
    -- exit code, stdout, stderr
    local function run_json(args)
      local err = os.tmpname()
      local _, out, code = shell.run("bin/b2c ledger " .. args .. " --json </dev/null 2>" .. err)
      local errtext = files.must(err)
      os.remove(err)
      for _, secret in ipairs({ ctx.s.consumerSecret, ctx.s.initiatorPassword }) do
        assert.is_nil(out:find(secret, 1, true))
        assert.is_nil(errtext:find(secret, 1, true))
      end
      return code, out, errtext
    end
    local code, out, err = run_json("list --db " .. url)
    assert.are.equal(0, code, err)
    assert.matches("^{.*}\n$", out)
    local doc = json.decode(out)
    assert.are.equal("ledger list", doc.command)
    assert.are.equal(2, #doc.payouts)
    local newest, oldest = doc.payouts[1], doc.payouts[2]
    assert.are.same({ "unknown", 700, "inv-unknown", "254708374149" },
      { newest.state, newest.amount, newest.reference, newest.recipient })
    assert.are.same({ "accepted", 500, "=HYPERLINK(1)" }, { oldest.state, oldest.amount, oldest.reference })
    assert.matches("^%x+%-", oldest.originatorConversationId)
    code, out = run_json("list --state paid --db " .. url)
    assert.are.equal(0, code)
    assert.are.equal('{"command":"ledger list","payouts":[]}\n', out)

    code, out, err = run_json("show inv-unknown --db " .. url)
    assert.are.equal(0, code, err)
    doc = json.decode(out)
    assert.are.equal("ledger show", doc.command)
    assert.are.same({ "unknown", 700, newest.id }, { doc.payout.state, doc.payout.amount, doc.payout.id })
    assert.are.same({ { id = newest.id, state = "unknown",
      originatorConversationId = newest.originatorConversationId } }, doc.attempts)
    assert.matches('"callbacks":%[%]', out)
    code, out, err = run_json("show nope --db " .. url)
    assert.are.equal(1, code)
    assert.are.equal("", out)
    doc = json.decode(err)
    assert.are.equal("validation", doc.error.kind)
    assert.are.equal("no payout nope", doc.error.message)

    code, out, err = run_json("stats --db " .. url)
    assert.are.equal(0, code, err)
    doc = json.decode(out)
    assert.are.equal("ledger stats", doc.command)
    assert.are.same({ 1, 500, 1, 700, 0, 0 }, { doc.byState.accepted, doc.amountByState.accepted,
      doc.byState.unknown, doc.amountByState.unknown, doc.byState.created, doc.byState.paid })
    assert.are.same({ 2, 0, 0 }, { doc.total, doc.attention, doc.unmatchedCallbacks })

    code, out, err = run_json("export --csv --db " .. url)
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("no %-%-json output", json.decode(err).error.message)
  end)

  it("exports CSV a spreadsheet cannot run", function()
    local code, out = run("export --csv --db " .. url)
    assert.are.equal(0, code)
    assert.matches("^id,state,amount,recipient,reference,", out)
    assert.matches("'=HYPERLINK%(1%)", out)
    assert.not_matches(",=HYPERLINK", out)
  end)

  it("reconciles through Transaction Status", function()
    local code, out = run("reconcile --delay 0 --lease 0 --config " .. dir .. "/config.json --db " .. url)
    assert.are.equal(1, code, out)
    assert.matches("lease: must be a number of seconds from 1", out)
    assert.is_nil(ctx.s:stats().requests["/mpesa/transactionstatus/v1/query"])
    code, out = run("reconcile --delay 0 --lease 30 --config " .. dir .. "/config.json --db " .. url)
    assert.are.equal(0, code, out)
    assert.matches("queried%s+1", out)
    assert.are.equal(1, ctx.s:stats().requests["/mpesa/transactionstatus/v1/query"])
  end)

  it("says what is wrong with its usage", function()
    local code, out = run("list")
    assert.are.equal(2, code)
    assert.matches("%-%-db URL is required", out)
    code, out = run("frob --db " .. url)
    assert.are.equal(2, code)
    assert.matches("no subcommand frob", out)
    code, out = run("export --db " .. url)
    assert.are.equal(2, code)
    assert.matches("export needs %-%-csv", out)
    code, out = run("list --db mysql://x")
    assert.are.equal(1, code)
    assert.matches("sqlite:///", out)
  end)
end)
