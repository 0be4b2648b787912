-- `b2c status` and `b2c balance`: send a Transaction Status or Account
-- Balance query; with --listen, wait for its result and print it.
local b2c = require("b2c")
local args = require("b2c.cli.args")
local config = require("b2c.cli.config")
local explain_text = require("b2c.cli.explain_text")
local listener = require("b2c.cli.listener")
local output = require("b2c.cli.output")

local clean = output.clean

local QUERY_HELP_OPTIONS = [[
  --config FILE    b2c.new settings as JSON (the keys, the initiator and
                   its password or credential, resultUrl...)
  --listen [HOST:]PORT
                   wait here for the result and print it (LuaSocket); the
                   query's ResultURL and QueueTimeOutURL become this
                   listener's URL (with a random token in its path) unless
                   --result-url is given
  --result-url URL where Daraja posts the result: in production a public
                   https URL, e.g. one your TLS proxy forwards to --listen
                   (default: the listener's URL, else the config's resultUrl)
  --wait SECONDS   how long --listen waits (default 60)
  --json           one JSON document on stdout; errors as JSON on stderr

Without --listen the query is sent and the command ends: the result goes to
the ResultURL, where your handler stores it (`b2c parse` explains it).

exit status: 0 the query was accepted (and, with --listen, its result
arrived: the verdict is in the output), 1 failed (bad config, the query
refused or not sent, or the result says the query itself failed), 2 wrong
usage, 3 no result within --wait (a queue timeout, or nothing came).
]]

local STATUS_HELP = [[
usage: b2c status OCID [--receipt RECEIPT] --config FILE [OPTIONS]
       b2c status --receipt RECEIPT --config FILE [OPTIONS]

Asks Transaction Status what became of a payout, by the
OriginatorConversationID it was sent with (or its M-Pesa receipt), and with
--listen prints the verdict: completed (paid; never pay it again), failed or
not_found (not paid: pay again with a NEW OCID), pending (ask again later).
A query moves no money: it is safe to repeat.

  --receipt RECEIPT
                   ask by the payout's M-Pesa receipt (instead of, or
                   besides, the OCID)
]] .. QUERY_HELP_OPTIONS

local BALANCE_HELP = [[
usage: b2c balance --config FILE [OPTIONS]

Asks Account Balance for the shortcode of the config, and with --listen
prints each account (name, currency, amount). Moves no money.

]] .. QUERY_HELP_OPTIONS

local QUERY_OPTIONS = { ["--config"] = true, ["--listen"] = true, ["--result-url"] = true,
  ["--wait"] = true, ["--receipt"] = true }

-- status and balance: send the query; with --listen, wait for its result.
local function query(sys, list, command, help)
  local opts, positional = args.options(list, 2, QUERY_OPTIONS)
  if not opts then return output.usage_error(sys, command, positional) end
  if opts.help then sys.stdout:write(help); return 0 end
  local fields = {}
  if command == "status" then
    if #positional > 1 then return output.usage_error(sys, command, "give one OriginatorConversationID") end
    fields.originatorConversationId, fields.transactionId = positional[1], opts["--receipt"]
    if not fields.originatorConversationId and not fields.transactionId then
      return output.usage_error(sys, command, "give the payout's OriginatorConversationID (or --receipt RECEIPT)")
    end
  elseif #positional > 0 or opts["--receipt"] then
    return output.usage_error(sys, command, "takes no arguments but options")
  end
  if not opts["--config"] then
    return output.usage_error(sys, command, "--config FILE is required (b2c.new settings as JSON)")
  end
  local wait = tonumber(opts["--wait"] or 60)
  if not wait or wait <= 0 or wait > 86400 then
    return output.usage_error(sys, command, "--wait must be a number of seconds above 0, at most 86400")
  end
  if opts["--wait"] and not opts["--listen"] then
    return output.usage_error(sys, command, "--wait needs --listen (nothing waits without it)")
  end
  local mpesa, err, cfg = config.client(sys, opts["--config"])
  if not mpesa then return output.failed(sys, command, err) end
  local l
  if opts["--listen"] then
    l, err = listener.open(opts["--listen"])
    if not l then
      mpesa:close()
      return output.failed(sys, command, err)
    end
  end
  local url = opts["--result-url"] or (l and l.url)
  fields.resultUrl, fields.queueTimeOutUrl = url, url
  local namespace = command == "status" and mpesa.transactionStatus or mpesa.accountBalance
  local ack
  ack, err = namespace.query(fields)
  mpesa:close()
  if not ack then
    if l then l.server:close() end
    return output.failed(sys, command, err)
  end
  local doc = { command = command, state = "accepted", resultUrl = url or cfg.resultUrl,
    originatorConversationId = fields.originatorConversationId, receipt = fields.transactionId,
    query = { conversationId = ack.ConversationID, originatorConversationId = ack.OriginatorConversationID } }
  local function row(label, value) output.row(sys.stdout, label .. ":", value) end
  if not l then
    if sys.json then
      output.document(sys, doc)
    else
      row("query", "accepted; the result goes to " .. doc.resultUrl .. ", not to this command")
      row("query ConversationID", ack.ConversationID)
      row("next", "`b2c parse` explains the result your ResultURL stores; or run again with --listen")
    end
    return 0
  end
  if not sys.json then
    sys.stderr:write(string.format("b2c %s: query accepted (ConversationID %s); waiting up to %s s on %s\n",
      command, clean(ack.ConversationID), wait, l.where))
  end
  -- the answer names the query by its ConversationID (results of queries
  -- may lack the OCID); a queue timeout echoes the request's OCID
  local function mine(info)
    return info.conversationId == ack.ConversationID
      or (info.originatorConversationId ~= nil and info.originatorConversationId == ack.OriginatorConversationID)
  end
  local info, peer = listener.wait_for(l, wait, opts["--result-url"] == nil, mine, sys, command)
  l.server:close()
  local status = 0
  if not info then
    doc.state, status = "no_result", 3
  elseif info.form == "queueTimeout" then
    doc.state, status = "queue_timeout", 3
  else
    doc.state, doc.result = "answered", info
    doc.from = { address = peer, safaricom = b2c.isSafaricomAddress(peer) }
    local failed_query = command == "status" and info.payout.queryFailed
      or command == "balance" and not info.accounts
    if failed_query then status = 1 end
  end
  if sys.json then
    output.document(sys, doc)
  elseif info and info.form == "result" then
    explain_text.write(sys.stdout, info)
    row("from", peer .. (doc.from.safaricom and " (a published Safaricom address)"
      or " (not a published Safaricom address)"))
  elseif info then
    row("query", "timed out in Daraja's queue: nothing is known; ask again")
  else
    row("query", "no result within " .. wait .. " s (Daraja may still post it to " .. url .. ")")
  end
  return status
end

return {
  status = { HELP = STATUS_HELP, run = function(sys, list) return query(sys, list, "status", STATUS_HELP) end },
  balance = { HELP = BALANCE_HELP, run = function(sys, list) return query(sys, list, "balance", BALANCE_HELP) end },
}
