-- A throwaway PostgreSQL 15 for specs: initdb in a temporary folder, pg_ctl
-- on a free loopback port (as `nobody` when the specs run as root), stopped
-- and removed by :stop(). Never a system service.
--   local pg = require("support.postgres").start()   -- nil, why when unavailable
--   pg.port; pg:url(db); pg:createdb(name); pg:halt(); pg:resume(); pg:stop()
--   postgres.with("PostgreSQL spec", function(pg) ... end)   -- stopped after, skipped without one

local M = {}

local BIN = os.getenv("B2C_PG_BIN") or "/usr/lib/postgresql/15/bin"

-- The server's own programs run without the sanitizer runtime `make asan`
-- preloads into the specs: an uninstrumented postgres hangs with it.
local function run(cmd)
  local p = io.popen("(unset LD_PRELOAD; " .. cmd .. ") 2>&1; echo \"pg-exit:$?\"")
  local out = p:read("*a")
  p:close()
  local body, code = out:match("^(.*)pg%-exit:(%d+)%s*$")
  return tonumber(code) == 0, body or out
end

local free_port = require("support.free_port")

local PG = {}
PG.__index = PG

-- Runs a command as the server's owner.
function PG:as_owner(cmd)
  if self.user then return run("runuser -u " .. self.user .. " -- sh -c '" .. cmd .. "'") end
  return run(cmd)
end

function PG:url(db)
  return string.format("postgresql://b2c@127.0.0.1:%d/%s", self.port, db)
end

function PG:createdb(name)
  local ok, out = self:as_owner(string.format("%s/createdb -h 127.0.0.1 -p %d -U b2c %s",
    BIN, self.port, name))
  assert(ok, out)
end

-- The server killed as a crash or power loss would (pg_ctl stop -m
-- immediate: no checkpoint, clients cut off); its files stay for :resume().
function PG:halt()
  local ok, out = self:as_owner(BIN .. "/pg_ctl -D " .. self.dir .. "/data -m immediate -w stop")
  assert(ok, out)
end

-- Starts the server on its files and port (again, after :halt()).
function PG:resume()
  return self:as_owner(string.format("%s/pg_ctl -D %s/data -l %s/log -w -o \"-p %d "
    .. "-c listen_addresses=127.0.0.1 -k %s -c fsync=on\" start", BIN, self.dir, self.dir, self.port,
    self.dir))
end

function PG:stop()
  if self.dir then
    self:as_owner(BIN .. "/pg_ctl -D " .. self.dir .. "/data -m immediate -w stop")
    os.execute("rm -rf '" .. self.dir .. "'")
    self.dir = nil
  end
end

function M.available()
  local f = io.open(BIN .. "/initdb", "r")
  if not f then return false, "no " .. BIN .. "/initdb (apt install postgresql-15)" end
  f:close()
  if not pcall(require, "luasql.postgres") then return false, "no luasql.postgres (lua-sql-postgres)" end
  return true
end

--- Runs fn(pg) on a server of its own, stopped afterwards even when fn
-- raises (the error raised again). Without PostgreSQL: prints "<what>
-- skipped: <why>" and returns.
function M.with(what, fn)
  local pg, why = M.start()
  if not pg then
    print(what .. " skipped: " .. why)
    return
  end
  local ok, err = pcall(fn, pg)
  pg:stop()
  if not ok then error(err, 0) end
end

function M.start()
  local ok, why = M.available()
  if not ok then return nil, why end
  local p = io.popen("mktemp -d")
  local dir = p:read("*l")
  p:close()
  local self = setmetatable({ dir = dir, port = free_port() }, PG)
  local uid = io.popen("id -u"):read("*l")
  if uid == "0" then
    self.user = "nobody"
    assert(run("chown nobody '" .. dir .. "'"))
  end
  local done, out = self:as_owner(string.format("%s/initdb -D %s/data -U b2c --auth=trust "
    .. "--encoding=UTF8 --locale=C.UTF-8 -N", BIN, dir))
  if not done then
    self:stop()
    return nil, "initdb failed: " .. out
  end
  done, out = self:resume()
  if not done then
    local log = io.open(dir .. "/log")
    local text = log and log:read("*a") or ""
    if log then log:close() end
    self:stop()
    return nil, "pg_ctl start failed: " .. out .. text
  end
  return self
end

return M
