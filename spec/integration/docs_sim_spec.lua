-- The simulator's Lua snippets in docs/simulator.md, run as written: the
-- spec helper's tour and the in-process server. Whatever the snippets start
-- is stopped here too, even when one fails halfway.
local sim = require("support.sim")
local docs = require("support.docs")

describe("the snippets of docs/simulator.md", function()
  it("Using it from busted specs: starts, drives and stops a simulator and a receiver", function()
    local started, receivers = {}, {}
    local tracked = setmetatable({
      start = function(opts)
        local s = sim.start(opts)
        started[#started + 1] = s
        return s
      end,
      receiver = function(opts)
        local r = sim.receiver(opts)
        receivers[#receivers + 1] = r
        return r
      end,
    }, { __index = sim })
    finally(function()
      for _, s in ipairs(started) do s:stop() end
      for _, r in ipairs(receivers) do r:close() end
    end)
    local names = {
      require = function(name)
        if name == "support.sim" then return tracked end
        return require(name)
      end,
    }
    local got = docs.run(docs.blocks("docs/simulator.md", "Using it from busted specs")[1], names,
      "\nreturn got")
    assert.are.same({}, got)   -- nothing was sent to the receiver in its 5 s
    assert.are.equal(1, #started)
    assert.are.equal(1, #receivers)
  end)

  -- the simulator itself runs on Lua 5.4 only
  it("#lua54 In-process use: serves from the caller's loop", function()
    local printed, rounds = {}, 0
    local names = setmetatable({
      print = function(...) printed[#printed + 1] = { ... } end,
    }, { __index = function(_, name)
      if name == "testing" then
        rounds = rounds + 1
        return rounds <= 3
      end
      return _G[name]
    end })
    docs.run(docs.blocks("docs/simulator.md", "In-process use")[1], names)
    assert.are.equal(4, rounds)
    assert.matches("^http://127%.0%.0%.1:%d+$", printed[1][1])
    assert.is_string(printed[1][2])
  end)
end)
