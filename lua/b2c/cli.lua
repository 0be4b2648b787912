-- The `b2c` operator command: security credentials, certificates and
-- result callbacks, without writing any code. bin/b2c runs main(arg).
-- main(args, sys) returns the exit status: 0 done, 1 failed, 2 usage error.
-- sys (for tests) may replace stdin, stdout, stderr, isatty() and echo(on).
local b2c = require("b2c")
local core = require("b2c.core")
local certs = require("b2c.certs")
local json = require("b2c.json")

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
  ledger SUBCOMMAND --db URL
                 the payout ledger: list, show, stats, reconcile, export --csv
  help [COMMAND] this text, or a command's

options:
  -h, --help     help
  --version      print the version

exit status: 0 done, 1 failed (unreadable input, not a certificate, not a
callback or answer), 2 wrong usage.
]]

local HELP = {
  credential = [[
usage: b2c credential [--env sandbox|production] [--cert FILE]

Encrypts the initiator password (RSA PKCS#1 v1.5, base64) into the
SecurityCredential Daraja expects. The password is read from a prompt that
does not echo, or, when stdin is not a terminal, from the first line of
stdin. It is never taken from the command line (ps and shell history would
show it).

  --env ENV    sandbox (default) or production: the bundled certificate used
  --cert FILE  encrypt with this certificate (PEM or DER) instead

stdout: the credential alone, on one line. stderr: the certificate used (CN
and SPKI sha256) and warnings, e.g. when FILE is not Safaricom's encryption
certificate.

  printf '%s\n' "$PASSWORD" | b2c credential --env production
]],
  cert = [[
usage: b2c cert FILE

Shows a certificate (PEM or DER; - for stdin): subject CN, issuer, validity
dates, key, and the SHA-256 of its SubjectPublicKeyInfo, and says whether it
is Safaricom's sandbox or production encryption certificate or something else
(a TLS server certificate is the usual mistake). Safaricom's encryption
certificates are past their notAfter dates and still in use: expiry does not
matter for them.
]],
  parse = [[
usage: b2c parse [FILE]

Reads a callback Daraja posted to your ResultURL or QueueTimeOutURL (JSON;
stdin when FILE is absent or -) and explains it: which API it answers, the
ResultCode with its class and advice, the verdict of a Transaction Status
result, the accounts of an Account Balance result, and every parameter.
A result with its fields at the top level (no "Result" object) is read as
a result. It also explains Daraja's synchronous answers: an
acknowledgement (ResponseCode) and an error body (errorCode). At most
1 MiB is read.
]],
  help = [[
usage: b2c help [COMMAND]

Prints the list of commands, or the help of COMMAND (credential, cert,
parse). `b2c COMMAND --help` prints the same.
]],
}

HELP.ledger = require("b2c.ledger.cli").HELP

local SPKI = {
  bc1aba1eb634213496663c5e5b69dcda742acc8d5c2bd25eccb16e1caf66e8dc = "sandbox",
  ["085bf508c873dd7d69361796925d10f87b59d3f0147d148f46103c1df6464c45"] = "production",
}
cli.SPKI = SPKI

-- os.execute's success, on every Lua (5.1: a number; 5.2+: true or nil).
local function succeeded(a, _, code)
  if type(a) == "number" then return a == 0 end
  return a == true and (code == nil or code == 0)
end

-- Turning echo off starts a watchdog: Lua cannot catch SIGTERM or SIGHUP,
-- so a shell that ignores them waits for this process ($PPID of the shell
-- io.popen starts) to end, then puts the terminal back as it was (on the
-- terminal as its stdin, passed by fd 3: a background job's own stdin is
-- /dev/null). Turning
-- echo on does that at once and stops the watchdog.
local ECHO_OFF = [[
saved=$(stty -g 2>/dev/null) || exit 0
owner=$PPID
stty -echo 2>/dev/null
exec 3<&0
( trap '' HUP INT TERM QUIT
  while kill -0 "$owner" 2>/dev/null; do sleep 0.1; done
  stty "$saved" 2>/dev/null ) <&3 >/dev/null 2>&1 &
echo "$! $saved"
]]

local function terminal_echo()
  local watchdog
  return function(on)
    if not on then
      local p = io.popen(ECHO_OFF, "r")
      local line = p and p:read("*l")
      if p then p:close() end
      local pid, saved = (line or ""):match("^(%d+) ([%x:]+)$")
      if pid then watchdog = { pid = pid, saved = saved } end
    elseif watchdog then
      os.execute("stty " .. watchdog.saved .. " 2>/dev/null; kill -9 " .. watchdog.pid .. " 2>/dev/null")
      watchdog = nil
    else
      os.execute("stty echo 2>/dev/null")
    end
  end
end

local function default_sys()
  return {
    stdin = io.stdin, stdout = io.stdout, stderr = io.stderr,
    isatty = function() return succeeded(os.execute("test -t 0")) end,
    echo = terminal_echo(),
  }
end

-- Text from input is untrusted: no terminal control sequence reaches the
-- screen. C0 controls, DEL and bytes that are not UTF-8 show as \xHH, the
-- C1 controls U+0080-U+009F (8-bit CSI, OSC...) as \u00HH; other UTF-8
-- text stays as it is.
local function clean(v)
  local s = tostring(v)
  if not s:find("[%z\1-\31\127-\255]") then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local b = s:byte(i)
    local len = b < 0x80 and 1 or (b >= 0xC2 and b <= 0xDF and 2) or (b >= 0xE0 and b <= 0xEF and 3)
      or (b >= 0xF0 and b <= 0xF4 and 4) or 0
    local seq = len > 0 and s:sub(i, i + len - 1)
    if seq and len > 1 and (#seq < len or not seq:find("^.[\128-\191]+$")
        or (b == 0xE0 and seq:byte(2) < 0xA0) or (b == 0xED and seq:byte(2) > 0x9F)
        or (b == 0xF0 and seq:byte(2) < 0x90) or (b == 0xF4 and seq:byte(2) > 0x8F)) then
      seq = nil -- overlong, surrogate, beyond U+10FFFF or cut short
    end
    if not seq then
      out[#out + 1] = string.format("\\x%02x", b)
      i = i + 1
    elseif len == 1 and (b < 32 or b == 127) then
      out[#out + 1] = string.format("\\x%02x", b)
      i = i + 1
    elseif b == 0xC2 and seq:byte(2) <= 0x9F then
      out[#out + 1] = string.format("\\u%04x", seq:byte(2))
      i = i + 2
    else
      out[#out + 1] = seq
      i = i + len
    end
  end
  return table.concat(out)
end
cli.clean = clean

-- Reading stops past the limit: /dev/zero or a wrong file must not fill
-- the memory.
local LIMITS = { parse = 1024 * 1024, cert = 64 * 1024 }

local function size_text(n)
  if n % (1024 * 1024) == 0 then return string.format("%d MiB", n / (1024 * 1024)) end
  return string.format("%d KiB", n / 1024)
end

local function read_limited(f, limit)
  local parts, size = {}, 0
  while true do
    local chunk = f:read(math.min(64 * 1024, limit + 1 - size))
    if chunk == nil or chunk == "" then break end
    parts[#parts + 1] = chunk
    size = size + #chunk
    if size > limit then return nil, "larger than " .. size_text(limit) end
  end
  return table.concat(parts)
end

local function read_file(sys, path, limit)
  if path == nil or path == "-" then return read_limited(sys.stdin, limit) end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local ok, data, rerr = pcall(read_limited, f, limit)
  f:close()
  if not ok then return nil, tostring(data) end
  return data, rerr
end

-- What a certificate is, for an operator: kind ("sandbox", "production",
-- "tls", "ca", "other") and one sentence.
function cli.identify(info)
  local env = SPKI[info.spkiSha256]
  if env then
    return env, "Safaricom's " .. env .. " encryption certificate for the SecurityCredential "
      .. "(environment = \"" .. env .. "\")"
  end
  local hosts = {}
  for _, name in ipairs(info.dnsNames or {}) do hosts[#hosts + 1] = name end
  if #hosts > 0 or (info.ipAddresses or 0) > 0 then
    local names = #hosts > 0 and table.concat(hosts, ", ") or "IP addresses"
    return "tls", "NOT Safaricom's encryption certificate: it names hosts (" .. names .. "), so it "
      .. "is a TLS server certificate, the usual mistake. A credential made with it ends in "
      .. "ResultCode 2001. Use the bundled certificate (leave `certificate` unset) or the one "
      .. "from the Daraja portal."
  end
  local elsewhere = "Daraja cannot decrypt a credential made with it (fine only for a gateway "
    .. "holding its private key, such as b2c-sim)"
  if info.ca then
    return "ca", "not one of Safaricom's encryption certificates but a CA certificate (CA:TRUE): "
      .. elsewhere
  end
  if info.keyType ~= "RSA" then
    return "other", "NOT usable: its key is " .. tostring(info.keyType) .. ", and a credential needs RSA"
  end
  return "other", "not one of Safaricom's encryption certificates: " .. elsewhere
end

local function show_certificate(out, info)
  local kind, says = cli.identify(info)
  local rows = {
    { "subject CN", info.commonName ~= "" and info.commonName or "(none)" },
    { "subject", info.subject },
    { "issuer", info.issuer },
    { "serial", info.serial },
    { "not before", info.notBefore },
    { "not after", info.notAfter .. (info.expired and " (expired)" or "") },
    { "key", string.format("%s %d bits", info.keyType, info.keyBits) },
    { "SPKI sha256", info.spkiSha256 },
  }
  if #info.dnsNames > 0 then rows[#rows + 1] = { "DNS names", table.concat(info.dnsNames, ", ") } end
  if info.ipAddresses > 0 then rows[#rows + 1] = { "IP addresses", tostring(info.ipAddresses) } end
  if kind == "sandbox" or kind == "production" then
    if info.expired then
      says = says .. "; its notAfter date has passed and Safaricom still uses it: that is expected"
    end
  end
  rows[#rows + 1] = { "this is", says }
  for _, r in ipairs(rows) do out:write(string.format("%-13s %s\n", r[1] .. ":", clean(r[2]))) end
  return kind
end

local function why_not_certificate(data)
  if data:find("<[Hh][Tt][Mm][Ll]") or data:find("<!DOCTYPE", 1, true) then
    return " (it is an HTML page: download the certificate itself)"
  elseif data:find("PRIVATE KEY-----", 1, true) then
    return " (it is a private key: the certificate is the public half)"
  elseif data:find("PUBLIC KEY-----", 1, true) then
    return " (it is a bare public key: a certificate is needed)"
  end
  return ""
end

-- Options of a command: { ["--env"] = "value", ... } and positionals, or
-- nil, message. takes: option -> true when it takes a value.
local function options(args, first, takes)
  local opts, positional = {}, {}
  local i = first
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if name == "-h" or name == "--help" then
      opts.help = true
    elseif takes[name] then
      if value == nil then
        i = i + 1
        value = args[i]
        if value == nil then return nil, name .. " needs a value" end
      end
      opts[name] = value
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, "unknown option " .. a
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  return opts, positional
end

local function usage_error(sys, command, message)
  sys.stderr:write("b2c " .. command .. ": " .. clean(message) .. "\n")
  sys.stderr:write("see: b2c help " .. command .. "\n")
  return 2
end

local function read_password(sys)
  local line
  if sys.isatty() then
    sys.stderr:write("Initiator password: ")
    sys.stderr:flush()
    sys.echo(false)
    local ok, got = pcall(sys.stdin.read, sys.stdin, "*l")
    sys.echo(true)
    sys.stderr:write("\n")
    line = ok and got or nil
  else
    line = sys.stdin:read("*l")
  end
  if line then line = line:gsub("\r$", "") end
  return line
end

local commands = {}

-- The ledger's commands live with the ledger (LuaSQL is loaded only then).
function commands.ledger(sys, args)
  return require("b2c.ledger.cli").run(sys, args, {
    options = options, clean = clean,
    usage_error = function(command, message) return usage_error(sys, command, message) end,
  })
end


function commands.credential(sys, args)
  local opts, positional = options(args, 2, { ["--env"] = true, ["--cert"] = true })
  if not opts then return usage_error(sys, "credential", positional) end
  if opts.help then sys.stdout:write(HELP.credential); return 0 end
  if #positional > 0 then
    return usage_error(sys, "credential", "no arguments are taken: the password is never read "
      .. "from the command line (ps and shell history would show it); type it at the prompt "
      .. "or pipe it on stdin")
  end
  local env = opts["--env"]
  if env ~= nil and env ~= "sandbox" and env ~= "production" then
    return usage_error(sys, "credential", "--env must be sandbox or production")
  end
  if opts["--cert"] == "-" then
    return usage_error(sys, "credential", "--cert needs a file: stdin carries the password")
  end
  local bytes, err
  if opts["--cert"] then
    bytes, err = read_file(sys, opts["--cert"], LIMITS.cert)
    if not bytes then
      sys.stderr:write("b2c credential: cannot read " .. clean(opts["--cert"]) .. ": " .. clean(err) .. "\n")
      return 1
    end
  else
    bytes = certs[env or "sandbox"]
  end
  local info, why = core.certificate_info(bytes)
  if not info then
    sys.stderr:write("b2c credential: " .. clean(opts["--cert"]) .. ": " .. why .. why_not_certificate(bytes) .. "\n")
    return 1
  end
  local password = read_password(sys)
  if password == nil or password == "" then
    sys.stderr:write("b2c credential: no password read\n")
    return 1
  end
  local credential
  credential, err = b2c.securityCredential(password, bytes)
  if not credential then
    sys.stderr:write("b2c credential: " .. clean(err) .. "\n")
    return 1
  end
  sys.stdout:write(credential, "\n")
  local kind, says = cli.identify(info)
  sys.stderr:write(string.format("certificate: CN=%s, SPKI sha256 %s\n", clean(info.commonName),
    info.spkiSha256))
  sys.stderr:write("             " .. clean(says) .. "\n")
  if env and (kind == "sandbox" or kind == "production") and kind ~= env then
    sys.stderr:write("warning: --env " .. env .. " but this is the " .. kind .. " certificate\n")
  elseif kind ~= "sandbox" and kind ~= "production" then
    sys.stderr:write("warning: Daraja will not accept this credential (ResultCode 2001)\n")
  end
  return 0
end

function commands.cert(sys, args)
  local opts, positional = options(args, 2, {})
  if not opts then return usage_error(sys, "cert", positional) end
  if opts.help then sys.stdout:write(HELP.cert); return 0 end
  if #positional ~= 1 then return usage_error(sys, "cert", "give one certificate file (- for stdin)") end
  local path = positional[1]
  local data, err = read_file(sys, path, LIMITS.cert)
  if not data then
    sys.stderr:write("b2c cert: cannot read " .. clean(path) .. ": " .. clean(err) .. "\n")
    return 1
  end
  local info, why = core.certificate_info(data)
  if not info then
    sys.stderr:write("b2c cert: " .. clean(path) .. ": " .. why .. why_not_certificate(data) .. "\n")
    return 1
  end
  show_certificate(sys.stdout, info)
  return 0
end

-- Results that name their API by a parameter only they carry: the
-- operation modules' declared result parameters (op.result). B2Pochi's are
-- B2C's, and B2B's, Buy Goods' and Top Up's are one another's, so those
-- are named together.
local BY_PARAMETER = {
  { "OriginalTransactionID", "reversal", require("b2c.operations.reversal").result.title },
  { "DebitPartyAffectedAccountBalance", "payment", require("b2c.operations.b2b").result.title },
  { "InitiatorAccountCurrentBalance", "payment", require("b2c.operations.b2b").result.title },
}

-- Which API a result answers, from its parameters.
local function result_kind(r, keys)
  if keys.AccountBalance then return "balance", "Account Balance result" end
  if keys.TransactionStatus or keys.ReceiptNo or keys.FinalisedTime then
    return "status", "Transaction Status result"
  end
  for _, known in ipairs(BY_PARAMETER) do
    if keys[known[1]] then return known[2], known[3] end
  end
  if keys.TransactionReceipt or keys.TransactionAmount then
    return "payment", "B2C payment result (or B2Pochi: their results look alike)"
  end
  local code = tostring(r.ResultCode)
  if code == "2032" or code == "2033" then return "status", "Transaction Status result" end
  if code:match("^R00000%d$") then return "reversal", "Reversal result" end
  return "result", "Daraja result"
end

-- Fields of a request: a body that echoes them with its OCID is the queue
-- timeout notification (the original request, per Daraja's G2 spec, which
-- spells the id originatorConversationID).
local REQUEST_FIELDS = { "CommandID", "InitiatorName", "Initiator", "Amount", "PartyA", "PartyB",
  "Remarks", "QueueTimeOutURL", "ResultURL", "IdentifierType" }

-- What a decoded body is: "result" (a Result object), "flat" (result
-- fields without the wrapper, as a real 2020 Account Balance failure
-- came), "error" (a gateway error), "ack" (a synchronous
-- acknowledgement), "timeout", or nil.
local function shape(doc)
  if type(doc) ~= "table" then return nil end
  if doc.Result ~= nil then return "result" end
  if doc.errorCode ~= nil then return "error" end
  if doc.ResultCode ~= nil then return "flat" end
  if doc.ResponseCode ~= nil then return "ack" end
  if doc.OriginatorConversationID ~= nil or doc.originatorConversationID ~= nil then
    for _, name in ipairs(REQUEST_FIELDS) do
      if doc[name] ~= nil then return "timeout" end
    end
  end
  return nil
end

-- The lines for a synchronous answer (gateway error or acknowledgement).
local function explain_answer(row, kind, doc)
  if kind == "error" then
    local code = tostring(doc.errorCode)
    local message = type(doc.errorMessage) == "string" and doc.errorMessage or ""
    local class, advice = b2c.describe({ kind = "api", code = code, message = message })
    row("kind", "Daraja error answer (synchronous" .. (code:match("^%d%d%d%.") and ", HTTP "
      .. code:sub(1, 3) or "") .. "; not a callback)")
    row("errorCode", string.format("%s (%s) %s", code, class, message))
    row("advice", advice)
    row("requestId", doc.requestId)
    return
  end
  local code = tostring(doc.ResponseCode)
  row("kind", "synchronous acknowledgement (Daraja's answer to the request; not a callback)")
  if code == "0" then
    row("ResponseCode", "0 (accepted for processing) " .. tostring(doc.ResponseDescription or ""))
    row("advice", "an acknowledgement only: the outcome comes later by callback to the ResultURL; "
      .. "keep the OriginatorConversationID to reconcile")
  else
    row("ResponseCode", code .. " (not accepted) " .. tostring(doc.ResponseDescription or ""))
    row("advice", "Daraja did not take the request; reconcile by the OriginatorConversationID "
      .. "before sending it again")
  end
  row("OriginatorConversationID", doc.OriginatorConversationID)
  row("ConversationID", doc.ConversationID)
end

function commands.parse(sys, args)
  local opts, positional = options(args, 2, {})
  if not opts then return usage_error(sys, "parse", positional) end
  if opts.help then sys.stdout:write(HELP.parse); return 0 end
  if #positional > 1 then return usage_error(sys, "parse", "give at most one file") end
  local path = positional[1]
  local data, err = read_file(sys, path, LIMITS.parse)
  if not data then
    sys.stderr:write("b2c parse: cannot read " .. clean(path or "stdin") .. ": " .. clean(err) .. "\n")
    return 1
  end
  local out = sys.stdout
  local function row(label, value)
    if value ~= nil then out:write(string.format("%-25s %s\n", label .. ":", clean(value))) end
  end
  local doc = core.json_valid(data) and json.decode(data)
  local form = shape(doc)
  if form == "error" or form == "ack" then
    explain_answer(row, form, doc)
    return 0
  end
  -- the flat result goes through the same strict reading, wrapped as text
  local r, perr = b2c.parseDarajaResult(form == "flat" and ('{"Result":' .. data .. "}") or data)
  if not r then
    local note = form == "timeout" and b2c.parseQueueTimeout(data)
    if not note then
      local why = form == nil and doc and "not a Daraja callback or answer (no Result, ResultCode, "
        .. "ResponseCode or errorCode, and not an echoed request)" or clean(perr.message)
      sys.stderr:write("b2c parse: " .. clean(path or "stdin") .. ": " .. why .. "\n")
      return 1
    end
    row("kind", "queue timeout notification (QueueTimeOutURL)")
    row("OriginatorConversationID", note.OriginatorConversationID)
    row("ConversationID", note.ConversationID)
    row("advice", "not a failure: the payout may still complete; query Transaction Status by "
      .. "this OriginatorConversationID before any resend")
    return 0
  end
  local keys = {}
  for _, p in ipairs(r.parameters) do keys[(p.Key:gsub("%s+", ""))] = true end
  local kind, label = result_kind(r, keys)
  local class, advice = b2c.describe(r)
  local entry = b2c.resultCodes[r.ResultCode] or b2c.resultCodes[tonumber(r.ResultCode) or false]
  row("kind", label)
  row("ResultCode", string.format("%s (%s) %s", tostring(r.ResultCode), class,
    r.ResultDesc or (entry and entry.text) or ""))
  if kind == "status" then
    local v = b2c.statusVerdict(r)
    local facts = {}
    if v.amount then facts[#facts + 1] = "KES " .. tostring(v.amount) end
    if v.receipt then facts[#facts + 1] = "receipt " .. v.receipt end
    if v.time then facts[#facts + 1] = v.time end
    if v.reason and v.verdict ~= "completed" then facts[#facts + 1] = v.reason end
    row("verdict", v.verdict .. (#facts > 0 and " (" .. table.concat(facts, ", ") .. ")" or ""))
    row("payout OCID", v.originatorConversationId)
    row("advice", v.advice)
  elseif kind == "reversal" then
    row("verdict", r.ok and "reversed (the customer was refunded)" or "not reversed")
    row("advice", advice)
  elseif kind == "payment" or (kind == "result" and not r.ok) then
    row("verdict", r.ok and "paid" or "not paid (if this answers a payout)")
    row("advice", advice)
  else
    row("advice", advice)
  end
  row("OriginatorConversationID", r.OriginatorConversationID)
  row("ConversationID", r.ConversationID)
  local txid = r.TransactionID
  if txid and (not r.ok or txid:match("0000000$")) then txid = txid .. " (a placeholder, not a receipt)" end
  row("TransactionID", txid)
  if kind == "balance" and r.ok then
    local accounts, berr = b2c.parseAccountBalance(r)
    if accounts then
      out:write("accounts:\n")
      for _, a in ipairs(accounts) do
        out:write(string.format("  %-34s %s %s\n", clean(a.name), clean(a.currency), clean(a.amount)))
      end
    else
      row("accounts", "unreadable: " .. berr.message)
    end
  end
  if #r.parameters > 0 then
    out:write("parameters:\n")
    for _, p in ipairs(r.parameters) do
      out:write(string.format("  %-34s %s\n", clean(p.Key), p.Value == nil and "(no value)" or clean(p.Value)))
    end
  end
  if #r.referenceData > 0 then
    out:write("reference data:\n")
    for _, p in ipairs(r.referenceData) do
      out:write(string.format("  %-34s %s\n", clean(p.Key), p.Value == nil and "(no value)" or clean(p.Value)))
    end
  end
  return 0
end

function cli.main(args, sys)
  args = args or {}
  sys = sys or default_sys()
  local command = args[1]
  if command == nil then
    sys.stderr:write(USAGE)
    return 2
  end
  if command == "-h" or command == "--help" then
    sys.stdout:write(USAGE)
    return 0
  end
  if command == "--version" then
    sys.stdout:write("b2c " .. b2c._VERSION .. "\n")
    return 0
  end
  if command == "help" then
    local topic = args[2]
    if topic == nil then sys.stdout:write(USAGE); return 0 end
    if not HELP[topic] then
      return usage_error(sys, "help", "no command " .. clean(topic)
        .. " (the commands: credential, cert, parse, ledger)")
    end
    sys.stdout:write(HELP[topic])
    return 0
  end
  local run = commands[command]
  if not run then
    sys.stderr:write("b2c: unknown command '" .. clean(command) .. "' (b2c --help lists them)\n")
    return 2
  end
  local ok, status = pcall(run, sys, args)
  if not ok then
    sys.stderr:write("b2c " .. command .. ": " .. clean(status) .. "\n")
    return 1
  end
  return status
end

return cli
