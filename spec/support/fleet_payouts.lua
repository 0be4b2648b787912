-- The payouts of the fleet run, the same in every process: payout i has
-- the reference "fleet-i", and what happens to it is chosen by i (about 2 %
-- each): the connection dropped after the simulator took it, a queue
-- timeout, no callback at all, a duplicate callback, two kinds of refusal;
-- the rest succeed.
local M = {}

local SUCCESS = "0708374149"

-- i % 50 -> { phone, remarks suffix, the final state the ledger must reach }
local FAULTS = {
  [7] = { phone = SUCCESS, remarks = " sim:fault=drop", final = "paid" },
  [11] = { phone = "0700009001", final = "paid" },  -- queue timeout
  [13] = { phone = "0700009002", final = "paid" },  -- no callback
  [17] = { phone = "0700009003", final = "paid" },  -- the result twice
  [19] = { phone = "0700000001", final = "failed" }, -- insufficient funds
  [23] = { phone = "0700002040", final = "failed" }, -- unregistered customer
}

function M.payout(i)
  local f = FAULTS[i % 50] or { phone = SUCCESS, final = "paid" }
  return { recipientPhone = f.phone, amount = 100 + i % 100, reference = "fleet-" .. i,
    remarks = "Fleet" .. (f.remarks or "") }
end

-- The state payout i must end in.
function M.final(i)
  return (FAULTS[i % 50] or { final = "paid" }).final
end

-- Batches of `size`, dealt round-robin to `workers`: the first and last
-- indexes of worker k's batches, in order. With `overlap`, every
-- `overlap`-th batch of the previous worker is paid by worker k too, at the
-- same moment as its owner pays it (the two race on those references),
-- before worker k's own batch of that round; 0: none.
function M.batches(n, size, workers, k, overlap)
  local out = {}
  local count = math.ceil(n / size)
  for b = 0, count - 1 do
    local owner = b % workers + 1
    local mine = owner == k
    local previous = (k - 2) % workers + 1
    if not mine and (overlap or 0) > 0 and workers > 1 and owner == previous
        and math.floor(b / workers) % overlap == 0 then
      mine = true
    end
    if mine then
      out[#out + 1] = { first = b * size + 1, last = math.min(n, (b + 1) * size) }
    end
  end
  return out
end

return M
