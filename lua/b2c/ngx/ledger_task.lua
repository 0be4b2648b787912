-- b2c.ngx.ledger_task(url, config, method, a, b): on a pool thread, one of
-- b2c.ledger's methods (LuaSQL blocks) on this VM's ledger for url, paying
-- with the VM's client for config; value, err come back as plain tables.
local plain_values = require("b2c.ngx.plain_values")
local thread_client = require("b2c.ngx.thread_client")

local plain, plain_error = plain_values.plain, plain_values.plain_error

-- Ledgers open in this pool VM, by URL: one connection per VM, reused.
local ledgers = {}

-- The ledger's methods a pool thread runs, and whether each takes the
-- client (mpesa) first.
local LEDGER_METHODS = {
  pay = true, payBatch = true, send = true, reconcile = true,
  applyResult = false, applyQueueTimeout = false, retry = false, get = false, list = false,
  stats = false,
}

-- On the pool thread: b2c.ledger's method on the VM's ledger for url ->
-- value, err as plain tables.
local function ledger_task(url, config, method, a, b)
  local takes_client = LEDGER_METHODS[method]
  if takes_client == nil then error("b2c.ngx.ledger: no method " .. tostring(method), 2) end
  local book, err = ledgers[url]
  if not book then
    book, err = require("b2c.ledger").open(url)
    if not book then return nil, plain_error(err) end
    ledgers[url] = book
  end
  local value
  if takes_client then
    local mpesa
    mpesa, err = thread_client(config)
    if not mpesa then return nil, plain_error(err) end
    value, err = book[method](book, mpesa, a, b)
  else
    value, err = book[method](book, a, b)
  end
  -- a store failure may be a dead connection: the next task opens a new one
  if err and err.kind == "ledger" then
    ledgers[url] = nil
    pcall(book.close, book)
  end
  return plain(value, 0), err and plain_error(err) or nil
end

return ledger_task
