-- A tokenStore over a directory, shared by every process given the same
-- directory: a token is a file "<expiry> <token>" replaced by rename (atomic),
-- the lock a directory made by mkdir (atomic, exclusive). For specs only.
local M = {}

local function now()
  return require("b2c.core").now()
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

function M.new(dir)
  local store = { dir = dir, counts = { get = 0, set = 0, delete = 0, lock = 0, tryLock = 0 } }
  local function file(key) return dir .. "/" .. key end

  local function read(key)
    local f = io.open(file(key), "rb")
    if not f then return nil end
    local text = f:read("*a")
    f:close()
    local expiry, token = text:match("^(%S+) (%S+)$")
    if not token then return nil end
    return token, tonumber(expiry) - now()
  end

  local function mkdir(path)
    return os.execute("mkdir " .. q(path) .. " 2>/dev/null") == true
      or os.execute("mkdir " .. q(path) .. " 2>/dev/null") == 0
  end

  function store.get(_, key)
    store.counts.get = store.counts.get + 1
    local token, ttl = read(key)
    if token and ttl > 0 then return token, ttl end
  end

  function store.set(_, key, token, ttl)
    store.counts.set = store.counts.set + 1
    local tmp = file(key) .. ".tmp" .. tostring(math.random(1, 1e9))
    local f = assert(io.open(tmp, "wb"))
    f:write(string.format("%.3f %s", now() + ttl, token))
    f:close()
    assert(os.rename(tmp, file(key)))
  end

  function store.delete(_, key, token)
    store.counts.delete = store.counts.delete + 1
    if read(key) == token then os.remove(file(key)) end
  end

  function store.tryLock(_, key)
    store.counts.tryLock = store.counts.tryLock + 1
    return mkdir(file(key) .. ".lock")
  end

  function store.lock(_, key, seconds, stale)
    store.counts.lock = store.counts.lock + 1
    local deadline = now() + seconds
    while true do
      if mkdir(file(key) .. ".lock") then return true end
      local token = read(key)
      if (token ~= nil and token ~= stale) or now() >= deadline then return false end
      require("b2c.core").sleep(0.02)
    end
  end

  function store.unlock(_, key)
    os.remove(file(key) .. ".lock")
  end

  return store
end

return M
