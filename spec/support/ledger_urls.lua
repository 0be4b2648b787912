-- The ledgers a multi-process spec runs on: SQLite files in `dir` and, when
-- `pg` (a started support.postgres) is given, PostgreSQL. A list of
-- { label, new } where new(name) makes an empty ledger and returns its URL.
--   for _, store in ipairs(require("support.ledger_urls")(dir, pg)) do ... end
return function(dir, pg)
  local list = { { "SQLite", function(name) return "sqlite://" .. dir .. "/" .. name .. ".db" end } }
  if pg then
    list[2] = { "PostgreSQL", function(name)
      pg:createdb(name)
      return pg:url(name)
    end }
  end
  return list
end
