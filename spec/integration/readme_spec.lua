-- The README's Lua snippets, run as written against the simulator: the
-- settings they read with os.getenv come from a table, the names they leave
-- to the reader (request_body, mark_paid, save_pending, ...) are defined here.
local b2c = require("b2c")
local sim = require("support.sim")

-- Lua 5.1 and LuaJIT give a chunk its globals with setfenv; later Luas with load.
local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")

local function readme_blocks(heading)
  local f = assert(io.open("README.md", "rb"))
  local text = f:read("*a")
  f:close()
  local start = assert(text:find("\n" .. heading .. "\n", 1, true), "no section " .. heading)
  local section = text:sub(start + 1)
  local finish = section:find("\n## ", 2, true)
  if finish then section = section:sub(1, finish) end
  local blocks = {}
  for code in section:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = code end
  return blocks
end

-- Runs code with globals from `names` (falling back to the real ones).
local function run(code, names, extra)
  local env = setmetatable(names, { __index = _G })
  local chunk
  if setfenv then
    chunk = assert(loadstring(code .. (extra or ""), "=README"))
    setfenv(chunk, env)
  else
    chunk = assert(load(code .. (extra or ""), "=README", "t", env))
  end
  return chunk()
end

describe("the README's snippets", function()
  local s

  setup(function() s = sim.start({ callbackDelay = 30 }) end)
  teardown(function() if s then s:stop() end end)

  it("Plain Lua: the send snippet pays out", function()
    local vars = {
      DARAJA_KEY = s.consumerKey, DARAJA_SECRET = s.consumerSecret, DARAJA_BASE_URL = s.url,
      DARAJA_INITIATOR_PASSWORD = s.initiatorPassword, DARAJA_CERTIFICATE = s.certificate,
      B2C_RESULT_URL = s.url .. "/nowhere", B2C_TIMEOUT_URL = s.url .. "/nowhere",
    }
    local printed = {}
    run(readme_blocks("## Plain Lua")[1], {
      os = setmetatable({ getenv = function(name) return vars[name] end }, { __index = os }),
      print = function(...) printed[#printed + 1] = table.concat({ ... }, " ") end,
    })
    assert.are.equal(1, #printed)
    assert.matches("^AG_", printed[1])
    local payouts = s:stats().payouts
    assert.are.equal("254712345678", payouts[#payouts].partyB)
    assert.are.equal(500, payouts[#payouts].amount)
  end)

  it("Plain Lua: the result handler snippet reads a success callback", function()
    local f = assert(io.open("spec/fixtures/daraja/b2c_result_success_docs_v3.json", "rb"))
    local body = f:read("*a")
    f:close()
    local paid, failed
    run(readme_blocks("## Plain Lua")[2], {
      b2c = b2c, request_body = body,
      mark_paid = function(...) paid = { ... } end,
      mark_failed = function(...) failed = { ... } end,
    })
    assert.is_nil(failed)
    assert.are.same({ "53e3-4aa8-9fe0-8fb5e4092cdd3533373", "SG632NMUAB", 10 }, paid)
  end)

  it("Game loops: the tick snippet completes a payout", function()
    local mpesa = assert(b2c.new({
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", initiatorPassword = s.initiatorPassword,
      certificate = s.certificate, baseUrl = s.url,
      resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere",
    }))
    local saved, reported
    local tick = run(readme_blocks("## Game loops and C hosts")[1], {
      mpesa = mpesa,
      save_pending = function(ocid) saved = ocid end,
      report = function(ocid, ack, err) reported = { ocid = ocid, ack = ack, err = err } end,
    }, "\nreturn tick")
    assert.is_string(saved)
    for _ = 1, 20000 do
      tick()
      if reported then break end
      require("socket").sleep(0.001)
    end
    assert.is_not_nil(reported, "the payout did not finish")
    assert.are.equal(saved, reported.ocid)
    assert.is_nil(reported.err)
    assert.are.equal(saved, reported.ack.OriginatorConversationID)
    mpesa:close()
  end)

  it("mpesa.b2c.sendBatch: the payroll snippet pays every row and stores each OCID by its reference", function()
    local mpesa = assert(b2c.new({
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", initiatorPassword = s.initiatorPassword,
      certificate = s.certificate, baseUrl = s.url,
      resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere",
    }))
    local salaries = {}
    for i = 1, 3 do
      salaries[i] = { recipientPhone = "0708374149", amount = 1000 * i, remarks = "March salary",
        reference = 100 + i }
    end
    local stored, printed = {}, {}
    local db = { exec = function(_, sql, ocid, id)
      if sql:find("SET ocid", 1, true) then stored[id] = ocid end
    end }
    run(readme_blocks("### mpesa.b2c.sendBatch")[1], {
      mpesa = mpesa, salaries = salaries, db = db,
      print = function(...) printed[#printed + 1] = table.concat({ ... }, " ") end,
    })
    mpesa:close()
    assert.are.equal("3 accepted; 0 to reconcile", printed[1])
    local sends = s:stats().sendsByOcid
    for i = 1, 3 do
      assert.is_string(stored[100 + i], "row " .. (100 + i) .. " has its OCID")
      assert.are.equal(1, sends[stored[100 + i]])
    end
  end)
end)
