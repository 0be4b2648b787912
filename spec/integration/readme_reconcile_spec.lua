-- The reconciliation snippet of docs/reconciliation.md, run as written against
-- the simulator, with the names it leaves to the reader defined here.
local b2c = require("b2c")
local sim = require("support.sim")
local docs = require("support.docs")
local run = docs.run

local function reconcile_snippet()
  return docs.blocks("docs/reconciliation.md", "Reconciliation")[1]
end

describe("the reconciliation snippet of docs/reconciliation.md", function()
  local s
  setup(function() s = sim.start({ callbackDelay = 30 }) end)
  teardown(function() if s then s:stop() end end)

  local read = require("support.files").must

  local function env_for(body, calls)
    local mpesa = assert(b2c.new(s:settings({ queueTimeOutUrl = s.url .. "/nowhere" })))
    local function note(name) return function(...) calls[#calls + 1] = { name, ... } end end
    return {
      b2c = b2c, mpesa = mpesa, ocid = "payroll-17", request_body = body,
      save_status_query = note("save_status_query"), mark_paid = note("mark_paid"),
      allow_new_attempt = note("allow_new_attempt"), query_again_later = note("query_again_later"),
      ocid_of_status_query = function() return "payroll-17" end,
    }, mpesa
  end

  it("queries by OCID and marks a completed payout paid", function()
    local calls = {}
    local env, mpesa = env_for(read("spec/fixtures/daraja/transactionstatus_result_success_docs_v3.json"), calls)
    run(reconcile_snippet(), env)
    assert.are.equal("save_status_query", calls[1][1])
    assert.are.equal("payroll-17", calls[1][2])
    assert.matches("^AG_", calls[1][3])
    assert.are.same({ "mark_paid", "3211-416020-3", "MBN31H462N", 300 }, calls[2])
    assert.are.equal("payroll-17", s:stats().queries[1].asked.originalConversationId)
    mpesa:close()
  end)

  it("allows a new attempt when the payout was not found", function()
    local calls = {}
    local env, mpesa = env_for(read("spec/fixtures/status/not_found_2032.json"), calls)
    run(reconcile_snippet(), env)
    assert.are.same({ "allow_new_attempt", "payroll-17" }, calls[2])
    mpesa:close()
  end)

  it("queries again later while the verdict is pending", function()
    local calls = {}
    local env, mpesa = env_for(read("spec/fixtures/status/query_failed_2001.json"), calls)
    run(reconcile_snippet(), env)
    assert.are.same({ "query_again_later", "payroll-17" }, calls[2])
    mpesa:close()
  end)
end)
