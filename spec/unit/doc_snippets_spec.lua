-- No runnable block of the documentation goes unexercised: every ```lua and
-- ```nginx block in README.md and docs/*.md is preceded by a marker,
--   <!-- doc-snippet: run by spec/....lua -->
-- naming a spec that reads that page and that heading (support.docs.blocks),
-- or
--   <!-- doc-snippet: not run: REASON -->
-- saying why it cannot run as written.
local docs = require("support.docs")
local files = require("support.files")

local RUNNABLE = { lua = true, nginx = true }

describe("the documentation's snippets", function()
  for _, page in ipairs(docs.pages()) do
    it(page .. ": every Lua and nginx block is run by a spec, or says why not", function()
      local unexercised = {}
      for _, block in ipairs(docs.fences(page)) do
        if RUNNABLE[block.lang] then
          local where = page .. ":" .. block.line .. " (" .. tostring(block.heading) .. ")"
          local marker = block.marker or ""
          local spec = marker:match("^run by (%S+)$")
          local reason = marker:match("^not run: (.+)$")
          if spec then
            local text = files.read(spec)
            if not text then
              unexercised[#unexercised + 1] = where .. ": no spec " .. spec
            elseif not (text:find('"' .. page .. '"', 1, true)
                and text:find('"' .. block.heading .. '"', 1, true)) then
              unexercised[#unexercised + 1] = where .. ": " .. spec .. " does not read this page and heading"
            end
          elseif not reason or #reason < 10 then
            unexercised[#unexercised + 1] = where .. ": no doc-snippet marker"
          end
        end
      end
      assert.are.same({}, unexercised)
    end)
  end
end)
