-- The `b2c` command (bin/b2c) given what is not a result callback, text
-- meant for the terminal, endless files, and signals at the password prompt.
local shell = require("support.shell")
local read = require("support.files").must

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function write(data)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

-- Runs bin/b2c: exit code, stdout, stderr. stdin: text piped in (nil: /dev/null).
local function b2c_cmd(args, stdin)
  local input = stdin and write(stdin) or "/dev/null"
  local err = os.tmpname()
  local _, out, code = shell.run("bin/b2c " .. args .. " <" .. q(input) .. " 2>" .. q(err))
  local errtext = read(err)
  os.remove(err)
  if stdin then os.remove(input) end
  return code, out, errtext
end

describe("b2c parse tells the shapes apart", function()
  it("reads a result without the Result wrapper as a result (AccountBalance failure, 2020)", function()
    local code, out = b2c_cmd("parse", '{"ResultType":0,"ResultCode":2001,'
      .. '"ResultDesc":"The initiator information is invalid.",'
      .. '"ConversationID":"AG_20200506_00006c8d2f5bfa0e7e3e","TransactionID":"OE631H5PLD"}')
    assert.are.equal(0, code)
    assert.matches("kind:%s+Daraja result", out)
    assert.matches("ResultCode:%s+2001 %(configuration%) The initiator information is invalid%.", out)
    assert.matches("ConversationID:%s+AG_20200506_00006c8d2f5bfa0e7e3e", out)
    assert.is_nil(out:find("queue timeout", 1, true))
  end)

  it("calls a synchronous acknowledgement (B2C v1/v3, reversal) an acknowledgement", function()
    for _, body in ipairs({
      '{"ConversationID":"AG_20240706_20106e9209f64bebd05b","OriginatorConversationID":"16740-34861180-1",'
        .. '"ResponseCode":"0","ResponseDescription":"Accept the service request successfully."}',
      '{"OriginatorConversationID":"71840-27539181-07","ConversationID":"AG_20210709_12346c8e6f8858d7b70a",'
        .. '"ResponseCode":"0","ResponseDescription":"Accept the service request successfully."}',
    }) do
      local code, out = b2c_cmd("parse", body)
      assert.are.equal(0, code)
      assert.matches("kind:%s+synchronous acknowledgement", out)
      assert.matches("ResponseCode:%s+0 %(accepted", out)
      assert.matches("callback", out)
      assert.is_nil(out:find("queue timeout", 1, true))
    end
    local code, out = b2c_cmd("parse", '{"OriginatorConversationID":"x-1","ConversationID":"",'
      .. '"ResponseCode":"1","ResponseDescription":"Rejected"}')
    assert.are.equal(0, code)
    assert.matches("ResponseCode:%s+1 %(not accepted", out)
    assert.is_nil(out:find("insufficient", 1, true))
  end)

  it("explains a Daraja error body with what b2c.describe knows of its code", function()
    local code, out = b2c_cmd("parse", '{"requestId":"11728-2929992-1","errorCode":"400.002.02",'
      .. '"errorMessage":"Bad Request - Invalid PartyB"}')
    assert.are.equal(0, code)
    assert.matches("kind:%s+Daraja error answer", out)
    assert.matches("errorCode:%s+400%.002%.02 %(recipient%) Bad Request %- Invalid PartyB", out)
    assert.matches("advice:%s+Daraja refused the recipient number", out)
    assert.matches("requestId:%s+11728%-2929992%-1", out)
  end)

  it("knows a queue timeout notification by its shape: the request echoed", function()
    local code, out = b2c_cmd("parse", '{"OriginatorConversationID":"payroll-7","InitiatorName":"testapi",'
      .. '"CommandID":"BusinessPayment","Amount":500,"PartyA":"600992","PartyB":"254708374149"}')
    assert.are.equal(0, code)
    assert.matches("queue timeout notification", out)
    code, out = b2c_cmd("parse", '{"originatorConversationID":"payroll-8","CommandID":"BusinessPayment"}')
    assert.are.equal(0, code)
    assert.matches("queue timeout notification", out)
    assert.matches("payroll%-8", out)
    -- an OCID alone is no such notification
    local code2, out2, err2 = b2c_cmd("parse", '{"OriginatorConversationID":"payroll-7"}')
    assert.are.equal(1, code2)
    assert.are.equal("", out2)
    assert.matches("not a Daraja callback or answer", err2)
  end)

  it("has help for help, and points there from an unknown topic", function()
    local code, out = b2c_cmd("help help")
    assert.are.equal(0, code)
    assert.matches("^usage: b2c help", out)
    local code2, _, err = b2c_cmd("help nosuch")
    assert.are.equal(2, code2)
    assert.matches("no command nosuch", err)
    local pointer = err:match("see: (b2c [%w ]+)")
    assert.is_truthy(pointer, err)
    assert.are.equal(0, (b2c_cmd(pointer:sub(5))))
  end)
end)

describe("b2c output escapes control characters", function()
  it("escapes C1 controls (CSI, OSC as UTF-8), C0 and DEL taken from input", function()
    local code, out = b2c_cmd("parse", '{"Result":{"ResultCode":1,"ResultDesc":"a\\u009b2Jb\\u009d0;x\\u0007c",'
      .. '"ConversationID":"c\\u001b]0;t\\u007f","ResultParameters":{"ResultParameter":'
      .. '[{"Key":"K\\u0085","Value":"v\\u009bm"}]}}}')
    assert.are.equal(0, code)
    for _, bad in ipairs({ "\194\155", "\194\157", "\194\133", "\27", "\7", "\127" }) do
      assert.is_nil(out:find(bad, 1, true), ("%q"):format(bad))
    end
    assert.matches("a\\u009b2Jb\\u009d0;x\\x07c", out, 1, true)
    assert.matches("c\\x1b]0;t\\x7f", out, 1, true)
    assert.matches("K\\u0085", out, 1, true)
    -- other text stays as it is
    local _, out2 = b2c_cmd("parse", '{"Result":{"ResultCode":1,"ResultDesc":"Malipo ya Jos\\u00e9 \\u2713",'
      .. '"ConversationID":"c"}}')
    assert.matches("Malipo ya José ✓", out2, 1, true)
  end)

  it("--json: the same escaping, and the document stays valid JSON in UTF-8", function()
    local json = require("b2c.json")
    -- C0 and C1 controls (as JSON escapes) and a quote in values and a key
    local body = '{"Result":{"ResultCode":1,"ResultDesc":"a\\u009b2Jb\\u0007\\"q",'
      .. '"ConversationID":"c\\u001b]0;t","ResultParameters":{"ResultParameter":'
      .. '[{"Key":"K\\u0085","Value":"v\\u009bm"}]}}}'
    local code, out = b2c_cmd("parse --json", body)
    assert.are.equal(0, code)
    for _, bad in ipairs({ "\194\155", "\194\133", "\27", "\7" }) do
      assert.is_nil(out:find(bad, 1, true), ("%q"):format(bad))
    end
    local doc = assert(json.decode(out))
    assert.are.equal("a\\u009b2Jb\\x07\"q", doc.resultDesc)
    assert.are.equal("c\\x1b]0;t", doc.conversationId)
    assert.are.equal("K\\u0085", doc.parameters[1].key)
    local err
    code, out, err = b2c_cmd("parse --json", "\255\254 not json \27[2J")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.is_nil(err:find("\27", 1, true))
    assert.are.equal("input", assert(json.decode(err)).error.kind)
  end)
end)

describe("b2c reads at most what it needs", function()
  it("stops reading an endless callback at 1 MiB and says so", function()
    local code, out, err = b2c_cmd("parse /dev/zero")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.matches("b2c parse: cannot read /dev/zero: larger than 1 MiB", err, 1, true)
    code, out, err = b2c_cmd("parse -", string.rep(" ", 1024 * 1024 + 1))
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.matches("larger than 1 MiB", err, 1, true)
  end)

  it("stops reading an endless certificate at 64 KiB and says so", function()
    local code, out, err = b2c_cmd("cert /dev/zero")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.matches("b2c cert: cannot read /dev/zero: larger than 64 KiB", err, 1, true)
    code, out, err = b2c_cmd("credential --cert /dev/zero", "x\n")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.matches("larger than 64 KiB", err, 1, true)
  end)
end)

describe("b2c credential's prompt on a real terminal", function()
  -- Under script(1) (a pty): start the prompt, send the signal, then show the
  -- terminal's settings once the command is gone. script's stdin stays open
  -- (it would type an end of file into the terminal) until the end is seen.
  local function after_signal(signal)
    local inner = "stty echo; bin/b2c credential </dev/tty >/dev/null 2>&1 & pid=$!; "
      .. "i=0; while [ $i -lt 100 ] && stty -a | grep -q ' echo '; do sleep 0.1; i=$((i+1)); done; "
      .. "stty -a | grep -q ' echo ' && echo 'echo never turned off'; "
      .. "kill -" .. signal .. " $pid; wait $pid; "
      .. "i=0; while [ $i -lt 30 ] && stty -a | grep -q -- ' -echo '; do sleep 0.1; i=$((i+1)); done; "
      .. "stty -a | grep -o -- ' -\\?echo '; echo end"
    local path = os.tmpname()
    local stdin = assert(io.popen("script -qec " .. q("sh -c " .. q(inner)) .. " /dev/null >" .. q(path)
      .. " 2>&1", "w"))
    local text = ""
    for _ = 1, 300 do
      text = require("support.files").read(path) or ""
      if text:find("end", 1, true) then break end
      os.execute("sleep 0.1")
    end
    stdin:close()
    os.remove(path)
    return text
  end

  for _, signal in ipairs({ "TERM", "HUP" }) do
    it("turns echo back on after SIG" .. signal, function()
      local out = after_signal(signal)
      assert.is_nil(out:find("never turned off", 1, true), out)
      assert.is_nil(out:find("-echo", 1, true), out)
      assert.matches("echo%s+end%s*$", out)
    end)
  end
end)
