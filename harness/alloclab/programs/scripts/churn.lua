-- Allocation churn for the alloclab suite (program "lua"): binary trees built and dropped
-- (the Computer Language Benchmarks Game's binary-trees shape), then string and table
-- churn (gsub, concat, format, table.insert/remove, a counting dictionary).
-- usage: lua5.4 churn.lua DEPTH ROUNDS STRINGS POOL SEED
-- prints one line; alloclab/programs/suite/lua.py predicts it.
local depth, rounds, nstrings, poolsize, seed =
  tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])

local function make(d)
  if d == 0 then return {} end
  return {make(d - 1), make(d - 1)}
end
local function count(t)
  if t[1] then return 1 + count(t[1]) + count(t[2]) end
  return 1
end

-- Trees: one long-lived tree while ROUNDS short-lived ones of depths 4..DEPTH come and go.
local long = make(depth)
local nodes = 0
for r = 1, rounds do
  nodes = nodes + count(make(4 + (r - 1) % (depth - 3)))
end
nodes = nodes + count(long)
long = nil

-- Strings: a 64-bit LCG (integer arithmetic wraps in Lua 5.4), the same in Python.
local state = seed
local function rnd(n)
  state = state * 6364136223846793005 + 1442695040888963407
  return (state >> 33) % n
end
local letters = "abcdefghijklmnopqrstuvwxyz"
local pool, dict, keys = {}, {}, 0
local total, subs = 0, 0
for i = 1, nstrings do
  local parts = {}
  for j = 1, 1 + rnd(24) do
    local k = rnd(26) + 1
    parts[j] = letters:sub(k, k)
  end
  local g, c = table.concat(parts):gsub("[aeiou]", "%0%0")
  local s = string.format("%d:%s", i, g)
  total, subs = total + #s, subs + c
  table.insert(pool, s)
  if #pool > poolsize then table.remove(pool, rnd(#pool) + 1) end
  local key = g:sub(1, 3)
  if dict[key] == nil then keys = keys + 1 end
  dict[key] = (dict[key] or 0) + 1
end
local kept = 0
for _, s in ipairs(pool) do kept = kept + #s end
print(string.format("nodes=%d chars=%d vowels=%d keys=%d kept=%d", nodes, total, subs, keys, kept))
