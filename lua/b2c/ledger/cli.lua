-- `b2c ledger list|show|stats|reconcile|export`: the operator's view of a
-- payout ledger. cli.lua hands over (sys, args, tools) with its option
-- parser, its text cleaner and its usage error.
local json = require("b2c.json")

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

States: created (stored, never sent), submitted, accepted, paid, failed,
unknown (reconcile it; never pay it again), not_found.
]]

local COLUMNS = { "id", "state", "amount", "recipient", "reference", "originatorConversationId",
  "conversationId", "receipt", "resultCode", "outcome", "previousId", "attention" }

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

-- A store failure as text: cli.lua prints what a command raises.
local function must(v, err)
  if v == nil then error(tostring(err), 0) end
  return v
end

local function number_option(opts, name)
  local v = opts[name]
  if v == nil then return nil end
  local n = tonumber(v)
  if not n or n < 0 then error(name .. " must be a number of seconds >= 0", 0) end
  return n
end

function M.run(sys, args, tools)
  local sub = args[2]
  -- flags (no value) taken out first; the rest goes to cli.lua's parser
  local rest, flags = {}, {}
  for i, a in ipairs(args) do
    if i > 2 and (a == "--attention" or a == "--csv") then flags[a:sub(3)] = true
    else rest[#rest + 1] = a end
  end
  local opts, positional = tools.options(rest, 3, { ["--db"] = true, ["--state"] = true,
    ["--limit"] = true, ["--config"] = true, ["--delay"] = true, ["--overdue"] = true,
    ["--requery"] = true, ["--lease"] = true })
  if not opts then return tools.usage_error("ledger", positional) end
  if sub == nil then
    sys.stderr:write(M.HELP)
    return 2
  end
  if opts.help or sub == "-h" or sub == "--help" then
    sys.stdout:write(M.HELP)
    return 0
  end
  opts.attention, opts.csv = flags.attention, flags.csv
  if not opts["--db"] then return tools.usage_error("ledger", "--db URL is required") end
  local out, clean = sys.stdout, tools.clean
  local book, err = require("b2c.ledger").open(opts["--db"])
  if not book then
    sys.stderr:write("b2c ledger: " .. clean(err) .. "\n")
    return 1
  end
  local status = 0
  if sub == "list" then
    local limit = tonumber(opts["--limit"] or 100)
    if not limit or limit < 1 then
      book:close()
      return tools.usage_error("ledger", "--limit must be a whole number >= 1")
    end
    for _, p in ipairs(must(book:list({ state = opts["--state"], limit = limit,
      attention = opts.attention }))) do
      out:write(string.format("%-6s %-9s %10s %-14s %-20s %s %s%s\n", p.id, p.state, p.amount,
        clean(p.recipient), clean(text(p.reference)), clean(p.originatorConversationId),
        clean(text(p.receipt)), p.attention and "  ATTENTION: " .. clean(p.attention) or ""))
    end
  elseif sub == "show" then
    local key = positional[1]
    local p = key and (book:get(tonumber(key) or key) or book:get(key))
    if not p then
      sys.stderr:write("b2c ledger show: no payout " .. clean(text(key)) .. "\n")
      status = 1
    else
      for _, k in ipairs(COLUMNS) do
        if p[k] ~= nil then out:write(string.format("%-25s %s\n", k, clean(p[k]))) end
      end
      local attempts = must(book.store:rows("SELECT id, state, ocid FROM payouts "
        .. "WHERE id = ? OR root_id = ? ORDER BY id", p.firstId, p.firstId))
      for _, a in ipairs(attempts) do
        out:write(string.format("attempt                   %s %s %s\n", a.id, a.state, clean(a.ocid)))
      end
      local cbs = must(book.store:rows("SELECT kind, applied, received_at FROM callbacks "
        .. "WHERE payout_id = ? ORDER BY id", p.id))
      for _, c in ipairs(cbs) do
        out:write(string.format("callback                  %s %s at %s\n", clean(c.kind),
          clean(text(c.applied)), os.date("!%Y-%m-%d %H:%M:%S", tonumber(c.received_at))))
      end
    end
  elseif sub == "stats" then
    local s = must(book:stats())
    for _, state in ipairs(require("b2c.ledger").STATES) do
      out:write(string.format("%-10s %8d %14s\n", state, s.byState[state] or 0,
        text(s.amountByState[state] or 0)))
    end
    out:write(string.format("total      %8d\nattention  %8d\nunmatched callbacks %d\n", s.total,
      s.attention, s.unmatchedCallbacks))
  elseif sub == "reconcile" then
    local path = opts["--config"]
    if not path then
      book:close()
      return tools.usage_error("ledger", "reconcile needs --config FILE (b2c.new settings as JSON)")
    end
    local f = io.open(path, "rb")
    local cfg = f and json.decode(f:read("*a"))
    if f then f:close() end
    if type(cfg) ~= "table" then
      book:close()
      sys.stderr:write("b2c ledger reconcile: " .. clean(path) .. " is not a JSON object\n")
      return 1
    end
    local mpesa, cerr = require("b2c").new(cfg)
    if not mpesa then
      book:close()
      sys.stderr:write("b2c ledger reconcile: " .. clean(cerr) .. "\n")
      return 1
    end
    local report = must(book:reconcile(mpesa, { delay = number_option(opts, "--delay"),
      overdue = number_option(opts, "--overdue"), requery = number_option(opts, "--requery"),
      lease = number_option(opts, "--lease") }))
    mpesa:close()
    out:write(string.format("marked unknown %d\nqueried        %d\nfailed queries %d\n",
      report.markedUnknown, report.queried, #report.errors))
    for _, e in ipairs(report.errors) do
      sys.stderr:write(string.format("payout %d: %s\n", e.id, clean(e.err)))
      status = 1
    end
  elseif sub == "export" then
    if not opts.csv then
      book:close()
      return tools.usage_error("ledger", "export needs --csv (the one format)")
    end
    local cols = {}
    for i, k in ipairs(COLUMNS) do cols[i] = k end
    cols[#cols + 1] = "createdAt"
    cols[#cols + 1] = "updatedAt"
    out:write(table.concat(cols, ",") .. "\r\n")
    local last = 0
    repeat
      local rows = must(book.store:rows("SELECT id FROM payouts WHERE id > ? ORDER BY id LIMIT 500",
        last))
      for _, r in ipairs(rows) do
        local p = book:get(tonumber(r.id))
        local cells = {}
        for i, k in ipairs(cols) do cells[i] = csv(p[k]) end
        out:write(table.concat(cells, ",") .. "\r\n")
        last = tonumber(r.id)
      end
    until #rows < 500
  else
    book:close()
    return tools.usage_error("ledger", "no subcommand " .. clean(sub)
      .. " (list, show, stats, reconcile, export)")
  end
  book:close()
  return status
end

return M
