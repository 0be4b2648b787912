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
  --json         credential, cert, parse, status, balance: one JSON
                 document on stdout; an error as one JSON line on stderr

exit status: 0 done, 1 failed (unreadable input, not a certificate, not a
callback or answer, a query refused), 2 wrong usage, 3 (status, balance
with --listen) no result came in time.
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
parse, status, balance, ledger). `b2c COMMAND --help` prints the same.
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

-- JSON for scripts (--json): keys sorted, so the same answer is the same
-- text; every string escaped as the text output escapes it, so the
-- document is UTF-8 without control characters whatever the input held.
-- A table with [1] is an array; an empty one, {}.
local function encode(v)
  local kind = type(v)
  if kind == "string" then
    return '"' .. clean(v):gsub('[%c"\\]', function(c)
      return c == '"' and '\\"' or c == "\\" and "\\\\" or string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.17g", v)
  elseif kind == "boolean" then
    return tostring(v)
  elseif kind == "table" then
    local parts = {}
    if v[1] ~= nil then
      for i, item in ipairs(v) do parts[i] = encode(item) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local names = {}
    for k in pairs(v) do names[#names + 1] = tostring(k) end
    table.sort(names)
    for i, k in ipairs(names) do parts[i] = encode(k) .. ":" .. encode(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end
cli.encode = encode

-- A failure: one line on stderr, "b2c COMMAND: message", or with --json
-- {"error":{"kind":..., "message":..., "field":...}} on stderr. stdout
-- stays empty, so what a script reads there is always a result. Returns
-- the exit status (1; 2 for kind "usage").
local ERROR_FIELDS = { "kind", "message", "field", "status", "code", "requestId", "retryable",
  "outcome", "originatorConversationId", "responseCode" }

local function failed(sys, command, err)
  if sys.json then
    local e = {}
    for _, k in ipairs(ERROR_FIELDS) do e[k] = err[k] end
    e.message = tostring(err.message)
    sys.stderr:write(encode({ command = command, error = e }), "\n")
  else
    sys.stderr:write("b2c " .. command .. ": " .. clean(err.message) .. "\n")
    if err.kind == "usage" then sys.stderr:write("see: b2c help " .. command .. "\n") end
  end
  return err.kind == "usage" and 2 or 1
end

local function usage_error(sys, command, message)
  return failed(sys, command, { kind = "usage", message = message })
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
      return failed(sys, "credential", { kind = "input", message = "cannot read " .. opts["--cert"] .. ": " .. err })
    end
  else
    bytes = certs[env or "sandbox"]
  end
  local info, why = core.certificate_info(bytes)
  if not info then
    return failed(sys, "credential", { kind = "input", field = "--cert",
      message = opts["--cert"] .. ": " .. why .. why_not_certificate(bytes) })
  end
  local password = read_password(sys)
  if password == nil or password == "" then
    return failed(sys, "credential", { kind = "input", message = "no password read" })
  end
  local credential
  credential, err = b2c.securityCredential(password, bytes)
  if not credential then return failed(sys, "credential", err) end
  local kind, says = cli.identify(info)
  local warnings = {}
  if env and (kind == "sandbox" or kind == "production") and kind ~= env then
    warnings[1] = "--env " .. env .. " but this is the " .. kind .. " certificate"
  elseif kind ~= "sandbox" and kind ~= "production" then
    warnings[1] = "Daraja will not accept this credential (ResultCode 2001)"
  end
  if sys.json then
    sys.stdout:write(encode({ command = "credential", credential = credential, warnings = warnings,
      certificate = { commonName = info.commonName, spkiSha256 = info.spkiSha256, kind = kind, says = says } }), "\n")
    return 0
  end
  sys.stdout:write(credential, "\n")
  sys.stderr:write(string.format("certificate: CN=%s, SPKI sha256 %s\n", clean(info.commonName),
    info.spkiSha256))
  sys.stderr:write("             " .. clean(says) .. "\n")
  for _, w in ipairs(warnings) do sys.stderr:write("warning: " .. w .. "\n") end
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
    return failed(sys, "cert", { kind = "input", message = "cannot read " .. path .. ": " .. err })
  end
  local info, why = core.certificate_info(data)
  if not info then
    return failed(sys, "cert", { kind = "input", message = path .. ": " .. why .. why_not_certificate(data) })
  end
  if sys.json then
    local kind, says = cli.identify(info)
    sys.stdout:write(encode({ command = "cert", kind = kind, says = says, commonName = info.commonName,
      subject = info.subject, issuer = info.issuer, serial = info.serial, notBefore = info.notBefore,
      notAfter = info.notAfter, expired = info.expired, keyType = info.keyType, keyBits = info.keyBits,
      spkiSha256 = info.spkiSha256, dnsNames = info.dnsNames, ipAddresses = info.ipAddresses }), "\n")
    return 0
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

-- What a body Daraja sent is, as plain data (the --json output of parse,
-- status and balance; the text output is drawn from it): nil, reason when
-- it is not a callback or an answer. Strings are as received; the printers
-- escape them. `api` ("status", "balance"), when the caller knows which
-- query a result answers: a failed query's result does not say.
local function explain_answer(form, doc)
  if form == "error" then
    local code = tostring(doc.errorCode)
    local message = type(doc.errorMessage) == "string" and doc.errorMessage or ""
    local class, advice = b2c.describe({ kind = "api", code = code, message = message })
    return { form = "error", errorCode = code, errorMessage = message, class = class, advice = advice,
      httpStatus = tonumber(code:match("^(%d%d%d)%.")), requestId = doc.requestId }
  end
  local code = tostring(doc.ResponseCode)
  return { form = "acknowledgement", responseCode = code, accepted = code == "0",
    responseDescription = doc.ResponseDescription,
    advice = code == "0" and "an acknowledgement only: the outcome comes later by callback to the "
      .. "ResultURL; keep the OriginatorConversationID to reconcile"
      or "Daraja did not take the request; reconcile by the OriginatorConversationID before sending it again",
    originatorConversationId = doc.OriginatorConversationID, conversationId = doc.ConversationID }
end

local function pairs_of(list)
  local out = {}
  for i, p in ipairs(list) do out[i] = { key = p.Key, value = p.Value } end
  return out
end

local TITLES = { status = "Transaction Status result", balance = "Account Balance result" }

function cli.explain(data, api)
  local doc = core.json_valid(data) and json.decode(data)
  local form = shape(doc)
  if form == "error" or form == "ack" then return explain_answer(form, doc) end
  -- the flat result goes through the same strict reading, wrapped as text
  local r, perr = b2c.parseDarajaResult(form == "flat" and ('{"Result":' .. data .. "}") or data)
  if not r then
    local note = form == "timeout" and b2c.parseQueueTimeout(data)
    if not note then
      return nil, form == nil and doc and "not a Daraja callback or answer (no Result, ResultCode, "
        .. "ResponseCode or errorCode, and not an echoed request)" or perr.message
    end
    return { form = "queueTimeout", originatorConversationId = note.OriginatorConversationID,
      conversationId = note.ConversationID,
      advice = "not a failure: the payout may still complete; query Transaction Status by "
        .. "this OriginatorConversationID before any resend" }
  end
  local keys = {}
  for _, p in ipairs(r.parameters) do keys[(p.Key:gsub("%s+", ""))] = true end
  local title
  if TITLES[api] then title = TITLES[api] else api, title = result_kind(r, keys) end
  local class, advice = b2c.describe(r)
  local entry = b2c.resultCodes[r.ResultCode] or b2c.resultCodes[tonumber(r.ResultCode) or false]
  local info = { form = "result", api = api, title = title, ok = r.ok, resultCode = r.ResultCode,
    resultDesc = r.ResultDesc or (entry and entry.text) or "", class = class, advice = advice,
    originatorConversationId = r.OriginatorConversationID, conversationId = r.ConversationID,
    transactionId = r.TransactionID, parameters = pairs_of(r.parameters),
    referenceData = pairs_of(r.referenceData) }
  info.receipt = r.ok and r.TransactionID and not r.TransactionID:match("0000000$") and r.TransactionID or nil
  if api == "status" then
    local v = b2c.statusVerdict(r)
    info.verdict, info.advice = v.verdict, v.advice
    info.payout = { originatorConversationId = v.originatorConversationId, conversationId = v.conversationId,
      amount = v.amount, receipt = v.receipt, time = v.time, initiatedTime = v.initiatedTime,
      status = v.status, reason = v.reason, debitParty = v.debitParty, creditParty = v.creditParty,
      charges = v.charges, queryFailed = v.queryFailed or false }
  elseif api == "reversal" then
    info.verdict = r.ok and "reversed" or "not_reversed"
  elseif api == "payment" or (api == "result" and not r.ok) then
    info.verdict = r.ok and "paid" or "not_paid"
  elseif api == "balance" and r.ok then
    local accounts, berr = b2c.parseAccountBalance(r)
    if accounts then
      info.advice = "the balances when M-Pesa answered, in shillings (a payout needs them in the account it draws on)"
      info.accounts = {}
      for i, a in ipairs(accounts) do info.accounts[i] = { name = a.name, currency = a.currency, amount = a.amount } end
    else
      info.accountsError = berr.message
    end
  end
  return info
end

local VERDICT_TEXT = { paid = "paid", not_paid = "not paid (if this answers a payout)",
  reversed = "reversed (the customer was refunded)", not_reversed = "not reversed" }

-- The text form of cli.explain's answer, as `b2c parse` prints it.
local function print_explained(out, info)
  local function row(label, value)
    if value ~= nil then out:write(string.format("%-25s %s\n", label .. ":", clean(value))) end
  end
  if info.form == "error" then
    row("kind", "Daraja error answer (synchronous" .. (info.httpStatus and ", HTTP " .. info.httpStatus or "")
      .. "; not a callback)")
    row("errorCode", string.format("%s (%s) %s", info.errorCode, info.class, info.errorMessage))
    row("advice", info.advice)
    row("requestId", info.requestId)
    return
  elseif info.form == "acknowledgement" then
    row("kind", "synchronous acknowledgement (Daraja's answer to the request; not a callback)")
    row("ResponseCode", info.responseCode .. (info.accepted and " (accepted for processing) "
      or " (not accepted) ") .. tostring(info.responseDescription or ""))
    row("advice", info.advice)
    row("OriginatorConversationID", info.originatorConversationId)
    row("ConversationID", info.conversationId)
    return
  elseif info.form == "queueTimeout" then
    row("kind", "queue timeout notification (QueueTimeOutURL)")
    row("OriginatorConversationID", info.originatorConversationId)
    row("ConversationID", info.conversationId)
    row("advice", info.advice)
    return
  end
  row("kind", info.title)
  row("ResultCode", string.format("%s (%s) %s", tostring(info.resultCode), info.class, info.resultDesc))
  if info.api == "status" then
    local v, facts = info.payout, {}
    if v.amount then facts[#facts + 1] = "KES " .. tostring(v.amount) end
    if v.receipt then facts[#facts + 1] = "receipt " .. v.receipt end
    if v.time then facts[#facts + 1] = v.time end
    if v.reason and info.verdict ~= "completed" then facts[#facts + 1] = v.reason end
    row("verdict", info.verdict .. (#facts > 0 and " (" .. table.concat(facts, ", ") .. ")" or ""))
    row("payout OCID", v.originatorConversationId)
  elseif info.verdict then
    row("verdict", VERDICT_TEXT[info.verdict])
  end
  row("advice", info.advice)
  row("OriginatorConversationID", info.originatorConversationId)
  row("ConversationID", info.conversationId)
  local txid = info.transactionId
  if txid and (not info.ok or txid:match("0000000$")) then txid = txid .. " (a placeholder, not a receipt)" end
  row("TransactionID", txid)
  if info.accounts then
    out:write("accounts:\n")
    for _, a in ipairs(info.accounts) do
      out:write(string.format("  %-34s %s %s\n", clean(a.name), clean(a.currency), clean(a.amount)))
    end
  elseif info.accountsError then
    row("accounts", "unreadable: " .. info.accountsError)
  end
  local function list(title, items)
    if #items == 0 then return end
    out:write(title .. ":\n")
    for _, p in ipairs(items) do
      out:write(string.format("  %-34s %s\n", clean(p.key), p.value == nil and "(no value)" or clean(p.value)))
    end
  end
  list("parameters", info.parameters)
  list("reference data", info.referenceData)
end

function commands.parse(sys, args)
  local opts, positional = options(args, 2, {})
  if not opts then return usage_error(sys, "parse", positional) end
  if opts.help then sys.stdout:write(HELP.parse); return 0 end
  if #positional > 1 then return usage_error(sys, "parse", "give at most one file") end
  local path = positional[1]
  local data, err = read_file(sys, path, LIMITS.parse)
  if not data then
    return failed(sys, "parse", { kind = "input", message = "cannot read " .. (path or "stdin") .. ": " .. err })
  end
  local info, why = cli.explain(data)
  if not info then
    return failed(sys, "parse", { kind = "input", message = (path or "stdin") .. ": " .. why })
  end
  if sys.json then
    info.command = "parse"
    sys.stdout:write(encode(info), "\n")
  else
    print_explained(sys.stdout, info)
  end
  return 0
end

-- b2c.new settings as JSON (a file, as `b2c ledger reconcile` takes it).
local function client_from(sys, path)
  local data, err = read_file(sys, path, LIMITS.cert)
  if not data then
    return nil, { kind = "input", field = "--config", message = "cannot read " .. path .. ": " .. err }
  end
  local cfg = json.decode(data)
  if type(cfg) ~= "table" then
    return nil, { kind = "input", field = "--config", message = path .. " is not a JSON object of b2c.new settings" }
  end
  local mpesa, err2 = b2c.new(cfg)
  return mpesa, err2, cfg
end

-- A one-shot receiver for the answer to one query: a plain HTTP listener
-- on [HOST:]PORT (LuaSocket), for the operator's terminal. Without
-- --result-url it is also the URL Daraja posts to, with an unguessable
-- token in its path; with one (a public https URL forwarding to it), any
-- path is taken. Every well-formed callback is answered 200, so Daraja does
-- not retry one that belongs to another query.
local MAX_CALLBACK = 64 * 1024

local function open_listener(spec)
  local host, port = spec:match("^%[?([^%]]*)%]?:(%d+)$")
  if not host then host, port = "127.0.0.1", spec:match("^(%d+)$") end
  port = tonumber(port)
  if not port or port > 65535 or host == "" then
    return nil, { kind = "usage", field = "--listen", message = "--listen takes [HOST:]PORT" }
  end
  local ok, socket = pcall(require, "socket")
  if not ok then
    return nil, { kind = "config", field = "--listen", message = "--listen needs LuaSocket (lua-socket)" }
  end
  local server, err = socket.bind(host, port)
  if not server then
    return nil, { kind = "network", field = "--listen", message = "cannot listen on " .. spec .. ": " .. tostring(err) }
  end
  server:settimeout(0.2)
  local ip, bound = server:getsockname()
  local token = b2c.callbackToken()
  local where = (ip:find(":", 1, true) and "[" .. ip .. "]" or ip) .. ":" .. bound
  return { socket = socket, server = server, token = token, where = where,
    url = "http://" .. where .. "/b2c/" .. token }
end

local function answer(client, status, text)
  local body = string.format('{"ResultCode":%d,"ResultDesc":"%s"}', status == 200 and 0 or 1, text)
  client:send(string.format("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
    .. "Connection: close\r\n\r\n%s", status, text, #body, body))
end

-- One request: method, path, body; or nil, status, reason.
local function read_request(client)
  client:settimeout(5)
  local line = client:receive("*l")
  local method, path = (line or ""):match("^(%u+) (%S+) HTTP/1%.[01]\r?$")
  if not method then return nil, 400, "Bad Request" end
  local length, size = 0, 0
  while true do
    local header = client:receive("*l")
    if header == nil then return nil, 400, "Bad Request" end
    size = size + #header
    if size > 16384 then return nil, 431, "Request Header Fields Too Large" end
    if header == "" or header == "\r" then break end
    local n = header:lower():match("^content%-length:%s*(%d+)")
    if n then length = tonumber(n) end
  end
  if length > MAX_CALLBACK then return nil, 413, "Payload Too Large" end
  local body = length > 0 and client:receive(length) or ""
  if not body then return nil, 400, "Bad Request" end
  return method, path, body
end

-- Waits up to `seconds` for the callback `mine(info)` accepts; returns
-- info, peer address; or nil when the time ran out.
local function wait_for(listener, seconds, own_path, mine, sys, command)
  local deadline = listener.socket.gettime() + seconds
  while listener.socket.gettime() < deadline do
    local client = listener.server:accept()
    if client then
      local peer = client:getpeername()
      local method, path, body = read_request(client)
      local info
      if not method then
        answer(client, path, body)
      elseif method ~= "POST" then
        answer(client, 405, "Method Not Allowed")
      elseif own_path and path ~= "/b2c/" .. listener.token then
        answer(client, 404, "Not Found")
      else
        info = cli.explain(body, command)
        if info and (info.form == "result" or info.form == "queueTimeout") then
          answer(client, 200, "Accepted")
        else
          answer(client, 400, "Bad Request")
          info = nil
        end
      end
      client:close()
      if info and mine(info) then return info, peer end
      if info and not sys.json then
        sys.stderr:write("b2c " .. command .. ": a callback for another request came from "
          .. clean(peer) .. "; still waiting\n")
      end
    end
  end
end

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

HELP.status = [[
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

HELP.balance = [[
usage: b2c balance --config FILE [OPTIONS]

Asks Account Balance for the shortcode of the config, and with --listen
prints each account (name, currency, amount). Moves no money.

]] .. QUERY_HELP_OPTIONS

local QUERY_OPTIONS = { ["--config"] = true, ["--listen"] = true, ["--result-url"] = true,
  ["--wait"] = true, ["--receipt"] = true }

-- status and balance: send the query; with --listen, wait for its result.
local function query(sys, args, command)
  local opts, positional = options(args, 2, QUERY_OPTIONS)
  if not opts then return usage_error(sys, command, positional) end
  if opts.help then sys.stdout:write(HELP[command]); return 0 end
  local fields = {}
  if command == "status" then
    if #positional > 1 then return usage_error(sys, command, "give one OriginatorConversationID") end
    fields.originatorConversationId, fields.transactionId = positional[1], opts["--receipt"]
    if not fields.originatorConversationId and not fields.transactionId then
      return usage_error(sys, command, "give the payout's OriginatorConversationID (or --receipt RECEIPT)")
    end
  elseif #positional > 0 or opts["--receipt"] then
    return usage_error(sys, command, "takes no arguments but options")
  end
  if not opts["--config"] then
    return usage_error(sys, command, "--config FILE is required (b2c.new settings as JSON)")
  end
  local wait = tonumber(opts["--wait"] or 60)
  if not wait or wait <= 0 or wait > 86400 then
    return usage_error(sys, command, "--wait must be a number of seconds above 0, at most 86400")
  end
  if opts["--wait"] and not opts["--listen"] then
    return usage_error(sys, command, "--wait needs --listen (nothing waits without it)")
  end
  local mpesa, err, cfg = client_from(sys, opts["--config"])
  if not mpesa then return failed(sys, command, err) end
  local listener
  if opts["--listen"] then
    listener, err = open_listener(opts["--listen"])
    if not listener then
      mpesa:close()
      return failed(sys, command, err)
    end
  end
  local url = opts["--result-url"] or (listener and listener.url)
  fields.resultUrl, fields.queueTimeOutUrl = url, url
  local namespace = command == "status" and mpesa.transactionStatus or mpesa.accountBalance
  local ack
  ack, err = namespace.query(fields)
  mpesa:close()
  if not ack then
    if listener then listener.server:close() end
    return failed(sys, command, err)
  end
  local doc = { command = command, state = "accepted", resultUrl = url or cfg.resultUrl,
    originatorConversationId = fields.originatorConversationId, receipt = fields.transactionId,
    query = { conversationId = ack.ConversationID, originatorConversationId = ack.OriginatorConversationID } }
  local function row(label, value)
    if value ~= nil then sys.stdout:write(string.format("%-25s %s\n", label .. ":", clean(value))) end
  end
  if not listener then
    if sys.json then
      sys.stdout:write(encode(doc), "\n")
    else
      row("query", "accepted; the result goes to " .. doc.resultUrl .. ", not to this command")
      row("query ConversationID", ack.ConversationID)
      row("next", "`b2c parse` explains the result your ResultURL stores; or run again with --listen")
    end
    return 0
  end
  if not sys.json then
    sys.stderr:write(string.format("b2c %s: query accepted (ConversationID %s); waiting up to %s s on %s\n",
      command, clean(ack.ConversationID), wait, listener.where))
  end
  -- the answer names the query by its ConversationID (results of queries
  -- may lack the OCID); a queue timeout echoes the request's OCID
  local function mine(info)
    return info.conversationId == ack.ConversationID
      or (info.originatorConversationId ~= nil and info.originatorConversationId == ack.OriginatorConversationID)
  end
  local info, peer = wait_for(listener, wait, opts["--result-url"] == nil, mine, sys, command)
  listener.server:close()
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
    sys.stdout:write(encode(doc), "\n")
  elseif info and info.form == "result" then
    print_explained(sys.stdout, info)
    row("from", peer .. (doc.from.safaricom and " (a published Safaricom address)"
      or " (not a published Safaricom address)"))
  elseif info then
    row("query", "timed out in Daraja's queue: nothing is known; ask again")
  else
    row("query", "no result within " .. wait .. " s (Daraja may still post it to " .. url .. ")")
  end
  return status
end

function commands.status(sys, args) return query(sys, args, "status") end

function commands.balance(sys, args) return query(sys, args, "balance") end

-- --json may stand anywhere after the command; it is taken out here.
local JSON_COMMANDS = { credential = true, cert = true, parse = true, status = true, balance = true }

function cli.main(args, sys)
  args = args or {}
  sys = sys or default_sys()
  local rest = {}
  for _, a in ipairs(args) do
    if a == "--json" then sys.json = true else rest[#rest + 1] = a end
  end
  args = rest
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
    sys.stdout:write(sys.json and encode({ command = "version", version = b2c._VERSION }) .. "\n"
      or "b2c " .. b2c._VERSION .. "\n")
    return 0
  end
  if command == "help" then
    local topic = args[2]
    if topic == nil then sys.stdout:write(USAGE); return 0 end
    if not HELP[topic] then
      return usage_error(sys, "help", "no command " .. topic
        .. " (the commands: credential, cert, parse, status, balance, ledger)")
    end
    sys.stdout:write(HELP[topic])
    return 0
  end
  local run = commands[command]
  if not run then
    local message = "unknown command '" .. command .. "' (b2c --help lists them)"
    if sys.json then return failed(sys, command, { kind = "usage", message = message }) end
    sys.stderr:write("b2c: " .. clean(message) .. "\n")
    return 2
  end
  if sys.json and not JSON_COMMANDS[command] then
    return usage_error(sys, command, "has no --json output (ledger export --csv is its format for scripts)")
  end
  local ok, status = pcall(run, sys, args)
  if not ok then return failed(sys, command, { kind = "internal", message = tostring(status) }) end
  return status
end

return cli
