-- Deregistrations, each of another RC (scripts/bench): first the RCs
-- `bench-seed` registered (all but the first and the last, which the verify
-- figures use), then those the registration figure made.
-- Needs BENCH_TOKEN (a clerk token), BENCH_RCS and BENCH_REGISTERED.
package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
require("vin")

local token = os.getenv("BENCH_TOKEN")
local seeded = tonumber(os.getenv("BENCH_RCS"))
local available = seeded - 2 + tonumber(os.getenv("BENCH_REGISTERED"))
local counter = 0

request = function()
  counter = counter + 1
  if counter >= available then
    -- Out of RCs: the run ends here (wrk divides by the time it ran).
    wrk.thread:stop()
  end
  local number, vin, plate
  if counter <= seeded - 2 then
    number = string.format("43090320%08d", counter)
    vin = make_vin("LSJA24U60JG", counter)
    plate = make_plate(counter)
  else
    -- wrk calls request() once before it sends anything and drops that
    -- request, so the registration figure's numbers start at 2.
    local n = counter - (seeded - 2) + 1
    number = string.format("43090399%08d", n)
    vin = make_vin("LSJA24U60KG", n)
    plate = make_plate(n)
  end
  local body = string.format([[{"vin":"%s","plate":"%s","office":"益阳市公安局交通警察支队车辆管理所"}]], vin, plate)
  return wrk.format("POST", "/api/v1/recycling-certificates/" .. number .. "/deregister", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end
