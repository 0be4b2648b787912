-- The `b2c` operator command: security credentials, certificates, result
-- callbacks, queries and the payout ledger, without writing any code.
-- bin/b2c runs main(arg). main(args, sys) returns the exit status: 0 done,
-- 1 failed, 2 usage error, 3 no query result in time. sys (for tests) may
-- replace stdin, stdout, stderr, isatty() and echo(on). Each command is a
-- module with HELP and run(sys, args).
local b2c = require("b2c")
local args = require("b2c.cli.args")
local output = require("b2c.cli.output")
local terminal = require("b2c.cli.terminal")
local query = require("b2c.cli.query")

local cli = {}

local USAGE = [[
usage: b2c COMMAND [ARGS]

M-Pesa Daraja B2C tools for operators.

commands:
  credential [--env sandbox|production] [--cert FILE]
                 print the SecurityCredential for the initiator password, read
                 from a prompt that does not echo (or one line of stdin)
  cert FILE      show a certificate's name, dates and SPKI sha256, and whether
                 it is Safaricom's sandbox or production encryption certificate
  parse [FILE]   explain a result callback or an answer from Daraja (JSON;
                 stdin when FILE is absent or -): verdict, what the code
                 means, parameters
  status OCID --config FILE [--listen [HOST:]PORT]
                 ask Transaction Status what became of a payout; with
                 --listen, wait for the answer and print the verdict
  balance --config FILE [--listen [HOST:]PORT]
                 ask Account Balance; with --listen, print the accounts
  ledger SUBCOMMAND --db URL
                 the payout ledger: list, show, stats, reconcile, export --csv
  help [COMMAND] this text, or a command's

options:
  -h, --help     help
  --version      print the version
  --json         credential, cert, parse, status, balance, ledger list,
                 show and stats: one JSON document on stdout; an error as
                 one JSON line on stderr

exit status: 0 done, 1 failed (unreadable input, not a certificate, not a
callback or answer, a query refused), 2 wrong usage, 3 (status, balance
with --listen) no result came in time.
]]

-- The ledger's commands live with the ledger (LuaSQL is loaded only when
-- one runs).
local COMMANDS = {
  credential = require("b2c.cli.credential"),
  cert = require("b2c.cli.cert"),
  parse = require("b2c.cli.parse"),
  status = query.status,
  balance = query.balance,
  ledger = require("b2c.ledger.cli"),
}

local HELP_HELP = [[
usage: b2c help [COMMAND]

Prints the list of commands, or the help of COMMAND (credential, cert,
parse, status, balance, ledger). `b2c COMMAND --help` prints the same.
]]

local function help_of(topic)
  if topic == "help" then return HELP_HELP end
  return COMMANDS[topic] and COMMANDS[topic].HELP
end

-- --json may stand anywhere after the command; it is taken out here. Each
-- command prints its own JSON (the ledger refuses it for some of its own).
function cli.main(list, sys)
  sys = sys or terminal.default_sys()
  local flags
  list, flags = args.take_flags(list or {}, 1, { ["--json"] = true })
  if flags.json then sys.json = true end
  local command = list[1]
  if command == nil then
    sys.stderr:write(USAGE)
    return 2
  end
  if command == "-h" or command == "--help" then
    sys.stdout:write(USAGE)
    return 0
  end
  if command == "--version" then
    sys.stdout:write(sys.json and output.encode({ command = "version", version = b2c._VERSION }) .. "\n"
      or "b2c " .. b2c._VERSION .. "\n")
    return 0
  end
  if command == "help" then
    local topic = list[2]
    if topic == nil then sys.stdout:write(USAGE); return 0 end
    local text = help_of(topic)
    if not text then
      return output.usage_error(sys, "help", "no command " .. topic
        .. " (the commands: credential, cert, parse, status, balance, ledger)")
    end
    sys.stdout:write(text)
    return 0
  end
  local run = COMMANDS[command] and COMMANDS[command].run
  if not run then
    local message = "unknown command '" .. command .. "' (b2c --help lists them)"
    if sys.json then return output.failed(sys, command, { kind = "usage", message = message }) end
    sys.stderr:write("b2c: " .. output.clean(message) .. "\n")
    return 2
  end
  local ok, status = pcall(run, sys, list)
  if not ok then return output.failed(sys, command, { kind = "internal", message = tostring(status) }) end
  return status
end

return cli
