-- The process `b2c` runs in: its streams, whether stdin is a terminal, and
-- the initiator password read from a prompt that does not echo.
local terminal = {}

-- os.execute's success, on every Lua (5.1: a number; 5.2+: true or nil).
local function succeeded(a, _, code)
  if type(a) == "number" then return a == 0 end
  return a == true and (code == nil or code == 0)
end

-- Turning echo off starts a watchdog: Lua cannot catch SIGTERM or SIGHUP,
-- so a shell that ignores them waits for this process ($PPID of the shell
-- io.popen starts) to end, then puts the terminal back as it was (on the
-- terminal as its stdin, passed by fd 3: a background job's own stdin is
-- /dev/null). Turning echo on does that at once and stops the watchdog.
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

function terminal.default_sys()
  return {
    stdin = io.stdin, stdout = io.stdout, stderr = io.stderr,
    isatty = function() return succeeded(os.execute("test -t 0")) end,
    echo = terminal_echo(),
  }
end

-- The first line of stdin, at a prompt on stderr with echo off when stdin
-- is a terminal; nil when there is none.
function terminal.read_password(sys)
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

return terminal
