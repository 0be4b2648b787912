-- `b2c ledger list|show|stats|reconcile|export`: the operator's view of a
-- payout ledger, as text or (list, show, stats) --json. b2c.cli runs it;
-- b2c.ledger (LuaSQL) is loaded only then.
local args = require("b2c.cli.args")
local config = require("b2c.cli.config")
local output = require("b2c.cli.output")

local M = {}

M.HELP = [[
usage: b2c ledger SUBCOMMAND --db URL [OPTIONS]

The payout ledger (b2c.ledger), URL sqlite:///path/ledger.db or
postgresql://user[:password]@host[:port]/database.

  list [--state STATE] [--limit N] [--attention]
                 payouts, newest first (attention: flagged for a person)
  show ID|REFERENCE
                 one payout, its attempts and the callbacks received for it
  stats          payouts and amounts per state, flagged payouts, callbacks
                 no payout matched
  reconcile --config FILE [--delay S] [--overdue S] [--requery S] [--lease S]
                 ask Transaction Status about every unknown or overdue payout
                 (--lease: seconds this worker holds a payout while it asks;
                 another worker passes it over meanwhile; default 120);
                 FILE: b2c.new settings as JSON. The answers come by callback
                 (resultUrl): hand them to ledger:applyResult.
  export --csv   every payout as CSV on stdout
  --json         list, show, stats: one JSON document on stdout

States: created (stored, never sent), submitted, accepted, paid, failed,
unknown (reconcile it; never pay it again), not_found.
]]

local COLUMNS = { "id", "state", "amount", "recipient", "reference", "originatorConversationId",
  "conversationId", "receipt", "resultCode", "outcome", "previousId", "attention" }

-- The subcommands that print JSON (export's CSV is its format for scripts).
local JSON_SUBCOMMANDS = { list = true, show = true, stats = true }

local OPTIONS = { ["--db"] = true, ["--state"] = true, ["--limit"] = true, ["--config"] = true,
  ["--delay"] = true, ["--overdue"] = true, ["--requery"] = true, ["--lease"] = true }

local function text(v)
  if v == nil then return "" end
  return tostring(v)
end

-- A CSV cell; a leading = + - @ is quoted with ' so no spreadsheet runs it.
local function csv(v)
  local s = text(v)
  if s:match("^[=+%-@\t\r]") then s = "'" .. s end
  if s:find('[",\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- A seconds option; a bad one is raised, and b2c.cli prints it (exit 1).
local function number_option(opts, name)
  local v = opts[name]
  if v == nil then return nil end
  local n = tonumber(v)
  if not n or n < 0 then error(name .. " must be a number of seconds >= 0", 0) end
  return n
end

local function usage_error(sys, message) return output.usage_error(sys, "ledger", message) end

-- A store failure (err from the ledger: kind, message).
local function failed(sys, err) return output.failed(sys, "ledger", err) end

local function list(sys, book, opts)
  local limit = tonumber(opts["--limit"] or 100)
  if not limit or limit < 1 then return usage_error(sys, "--limit must be a whole number >= 1") end
  local payouts, err = book:list({ state = opts["--state"], limit = limit, attention = opts.attention })
  if not payouts then return failed(sys, err) end
  if sys.json then
    local rows = output.array({})
    for i, p in ipairs(payouts) do
      rows[i] = { id = p.id, state = p.state, amount = p.amount, recipient = p.recipient,
        reference = p.reference, originatorConversationId = p.originatorConversationId,
        receipt = p.receipt, attention = p.attention }
    end
    output.document(sys, { command = "ledger list", payouts = rows })
    return 0
  end
  local clean = output.clean
  for _, p in ipairs(payouts) do
    sys.stdout:write(string.format("%-6s %-9s %10s %-14s %-20s %s %s%s\n", p.id, p.state, p.amount,
      clean(p.recipient), clean(text(p.reference)), clean(p.originatorConversationId),
      clean(text(p.receipt)), p.attention and "  ATTENTION: " .. clean(p.attention) or ""))
  end
  return 0
end

local function show(sys, book, key)
  local p = key and (book:get(tonumber(key) or key) or book:get(key))
  if not p then
    return output.failed(sys, "ledger show", { kind = "validation", field = "id", message = "no payout " .. text(key) })
  end
  local attempts, err = book.store:rows("SELECT id, state, ocid FROM payouts "
    .. "WHERE id = ? OR root_id = ? ORDER BY id", p.firstId, p.firstId)
  if not attempts then return failed(sys, err) end
  local callbacks, cerr = book.store:rows("SELECT kind, applied, received_at FROM callbacks "
    .. "WHERE payout_id = ? ORDER BY id", p.id)
  if not callbacks then return failed(sys, cerr) end
  local function received(c) return os.date("!%Y-%m-%d %H:%M:%S", tonumber(c.received_at)) end
  if sys.json then
    local payout = {}
    for _, k in ipairs(COLUMNS) do payout[k] = p[k] end
    local doc = { command = "ledger show", payout = payout, attempts = output.array({}),
      callbacks = output.array({}) }
    for i, a in ipairs(attempts) do
      doc.attempts[i] = { id = tonumber(a.id), state = a.state, originatorConversationId = a.ocid }
    end
    for i, c in ipairs(callbacks) do
      doc.callbacks[i] = { kind = c.kind, applied = c.applied, receivedAt = received(c) }
    end
    output.document(sys, doc)
    return 0
  end
  local out, clean = sys.stdout, output.clean
  for _, k in ipairs(COLUMNS) do output.row(out, k, p[k]) end
  for _, a in ipairs(attempts) do
    out:write(string.format("attempt                   %s %s %s\n", a.id, a.state, clean(a.ocid)))
  end
  for _, c in ipairs(callbacks) do
    out:write(string.format("callback                  %s %s at %s\n", clean(c.kind),
      clean(text(c.applied)), received(c)))
  end
  return 0
end

local function stats(sys, book)
  local s, err = book:stats()
  if not s then return failed(sys, err) end
  local states = require("b2c.ledger").STATES
  if sys.json then
    local doc = { command = "ledger stats", byState = {}, amountByState = {}, total = s.total,
      attention = s.attention, unmatchedCallbacks = s.unmatchedCallbacks }
    for _, state in ipairs(states) do
      doc.byState[state] = s.byState[state] or 0
      doc.amountByState[state] = s.amountByState[state] or 0
    end
    output.document(sys, doc)
    return 0
  end
  local out = sys.stdout
  for _, state in ipairs(states) do
    out:write(string.format("%-10s %8d %14s\n", state, s.byState[state] or 0,
      text(s.amountByState[state] or 0)))
  end
  out:write(string.format("total      %8d\nattention  %8d\nunmatched callbacks %d\n", s.total,
    s.attention, s.unmatchedCallbacks))
  return 0
end

local function reconcile(sys, book, opts)
  local path = opts["--config"]
  if not path then return usage_error(sys, "reconcile needs --config FILE (b2c.new settings as JSON)") end
  local cfg = config.read(sys, path)
  if not cfg then
    return output.failed(sys, "ledger reconcile", { kind = "input", message = path .. " is not a JSON object" })
  end
  local mpesa, err = require("b2c").new(cfg)
  if not mpesa then return output.failed(sys, "ledger reconcile", err) end
  local report, rerr = book:reconcile(mpesa, { delay = number_option(opts, "--delay"),
    overdue = number_option(opts, "--overdue"), requery = number_option(opts, "--requery"),
    lease = number_option(opts, "--lease") })
  mpesa:close()
  if not report then return failed(sys, rerr) end
  sys.stdout:write(string.format("marked unknown %d\nqueried        %d\nfailed queries %d\n",
    report.markedUnknown, report.queried, #report.errors))
  for _, e in ipairs(report.errors) do
    sys.stderr:write(string.format("payout %d: %s\n", e.id, output.clean(e.err)))
  end
  return #report.errors > 0 and 1 or 0
end

local function export(sys, book, opts)
  if not opts.csv then return usage_error(sys, "export needs --csv (the one format)") end
  local out = sys.stdout
  local cols = {}
  for i, k in ipairs(COLUMNS) do cols[i] = k end
  cols[#cols + 1] = "createdAt"
  cols[#cols + 1] = "updatedAt"
  out:write(table.concat(cols, ",") .. "\r\n")
  local last = 0
  repeat
    local rows, err = book.store:rows("SELECT id FROM payouts WHERE id > ? ORDER BY id LIMIT 500", last)
    if not rows then return failed(sys, err) end
    for _, r in ipairs(rows) do
      local p = book:get(tonumber(r.id))
      local cells = {}
      for i, k in ipairs(cols) do cells[i] = csv(p[k]) end
      out:write(table.concat(cells, ",") .. "\r\n")
      last = tonumber(r.id)
    end
  until #rows < 500
  return 0
end

function M.run(sys, list_args)
  local sub = list_args[2]
  if sys.json and not JSON_SUBCOMMANDS[sub] then
    return usage_error(sys, "has no --json output (ledger export --csv is its format for scripts)")
  end
  local rest, flags = args.take_flags(list_args, 3, { ["--attention"] = true, ["--csv"] = true })
  local opts, positional = args.options(rest, 3, OPTIONS)
  if not opts then return usage_error(sys, positional) end
  if sub == nil then
    sys.stderr:write(M.HELP)
    return 2
  end
  if opts.help or sub == "-h" or sub == "--help" then
    sys.stdout:write(M.HELP)
    return 0
  end
  opts.attention, opts.csv = flags.attention, flags.csv
  if not opts["--db"] then return usage_error(sys, "--db URL is required") end
  local book, err = require("b2c.ledger").open(opts["--db"])
  if not book then return output.failed(sys, "ledger", err) end
  local status
  if sub == "list" then
    status = list(sys, book, opts)
  elseif sub == "show" then
    status = show(sys, book, positional[1])
  elseif sub == "stats" then
    status = stats(sys, book)
  elseif sub == "reconcile" then
    status = reconcile(sys, book, opts)
  elseif sub == "export" then
    status = export(sys, book, opts)
  else
    status = usage_error(sys, "no subcommand " .. sub .. " (list, show, stats, reconcile, export)")
  end
  book:close()
  return status
end

return M
