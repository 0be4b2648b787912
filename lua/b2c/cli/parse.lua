-- `b2c parse [FILE]`: explain a callback or an answer Daraja sent.
local args = require("b2c.cli.args")
local explain = require("b2c.cli.explain")
local explain_text = require("b2c.cli.explain_text")
local input = require("b2c.cli.input")
local output = require("b2c.cli.output")

local parse = {}

parse.HELP = [[
usage: b2c parse [FILE]

Reads a callback Daraja posted to your ResultURL or QueueTimeOutURL (JSON;
stdin when FILE is absent or -) and explains it: which API it answers, the
ResultCode with its class and advice, the verdict of a Transaction Status
result, the accounts of an Account Balance result, and every parameter.
A result with its fields at the top level (no "Result" object) is read as
a result. It also explains Daraja's synchronous answers: an
acknowledgement (ResponseCode) and an error body (errorCode). At most
1 MiB is read.
]]

function parse.run(sys, list)
  local opts, positional = args.options(list, 2, {})
  if not opts then return output.usage_error(sys, "parse", positional) end
  if opts.help then sys.stdout:write(parse.HELP); return 0 end
  if #positional > 1 then return output.usage_error(sys, "parse", "give at most one file") end
  local path = positional[1]
  local data, err = input.read(sys, path, input.LIMITS.parse)
  if not data then
    return output.failed(sys, "parse", { kind = "input", message = "cannot read " .. (path or "stdin") .. ": " .. err })
  end
  local info, why = explain.body(data)
  if not info then
    return output.failed(sys, "parse", { kind = "input", message = (path or "stdin") .. ": " .. why })
  end
  if sys.json then
    info.command = "parse"
    output.document(sys, info)
  else
    explain_text.write(sys.stdout, info)
  end
  return 0
end

return parse
