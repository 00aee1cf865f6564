-- VINs, RC numbers and plates as `scrapcert bench-seed` makes them, for the
-- write figures of scripts/bench (GB 16735 check digit at position 9).
local weights = { 8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2 }
local letters = {
  A = 1, B = 2, C = 3, D = 4, E = 5, F = 6, G = 7, H = 8,
  J = 1, K = 2, L = 3, M = 4, N = 5, P = 7, R = 9,
  S = 2, T = 3, U = 4, V = 5, W = 6, X = 7, Y = 8, Z = 9,
}

local function value(c)
  return tonumber(c) or letters[c]
end

-- `prefix`: the 11 characters before the 6-digit serial number.
function make_vin(prefix, n)
  local body = string.format("%s%06d", prefix, n % 1000000)
  local sum = 0
  for i = 1, 17 do
    sum = sum + value(body:sub(i, i)) * weights[i]
  end
  local d = sum % 11
  local check = d == 10 and "X" or tostring(d)
  return body:sub(1, 8) .. check .. body:sub(10)
end

function make_plate(n)
  return string.format("湘H%05d", n % 100000)
end
