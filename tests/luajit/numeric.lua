-- Numeric loops LuaJIT traces (compiled to arm64 machine code written into its code area): each result is checked
-- against its closed form, and against the same function run by the interpreter (jit.off) where there is none.
local jutil = require("jit.util")

local function modsum(n) local s = 0 for i = 1, n do s = s + i % 7 end return s end
local function squares(n) local s = 0 for i = 1, n do s = s + i * i end return s end
local function xorfold(n) local x = 0 for i = 1, n do x = bit.bxor(x, i) end return x end
local function leibniz(n) local s, sign = 0.0, 1.0 for k = 0, n - 1 do s = s + sign / (2 * k + 1) sign = -sign end return 4 * s end
-- branches inside the loop: side traces, whose exits LuaJIT patches into the parent trace's code
local function branchy(n)
  local s = 0
  for i = 1, n do
    local r = i % 5
    if r == 0 then s = s + i elseif r == 1 then s = s - 2 * i elseif r == 2 then s = s + bit.band(i, 255)
    elseif r == 3 then s = s + math.floor(i / 3) else s = s - 7 end
  end
  return s
end
local function collatz_max(n)
  local best, arg = 0, 0
  for i = 1, n do
    local x, steps = i, 0
    while x ~= 1 do if x % 2 == 0 then x = x / 2 else x = 3 * x + 1 end steps = steps + 1 end
    if steps > best then best, arg = steps, i end
  end
  return best, arg
end

local function check(name, got, want)
  print(string.format("%s = %s", name, tostring(got)))
  assert(got == want, name .. ": expected " .. tostring(want))
end

check("sum of i%7, 1..1e7", modsum(1e7), 29999997)
check("sum of squares 1..1e5", squares(1e5), 100000 * 100001 * 200001 / 6)
check("xor of 1..1e6", xorfold(1e6), 1000000)
local pi = leibniz(1e7)
print(string.format("leibniz(1e7) = %.12f", pi))
assert(math.abs(pi - math.pi) < 1e-6)
local b = branchy(2e6)
jit.off(branchy)
check("branchy(2e6)", b, branchy(2e6))
local steps, at = collatz_max(30000)
check("longest collatz chain below 30000", steps .. " at " .. at, "307 at 26623")

assert(jit.status(), "the JIT is off")
assert(jutil.traceinfo(1), "no trace was compiled")
print("jit on, traces compiled: yes")
print("ok")
