-- RC registrations, each a new RC number and VIN (scripts/bench).
-- Needs BENCH_TOKEN (an enterprise token) in the environment.
package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
require("vin")

local token = os.getenv("BENCH_TOKEN")
local received_on = os.getenv("BENCH_RECEIVED_ON")
local counter = 0
local template = [[{"number":"%s","vehicle":{"vin":"%s","plate":"%s","plate_type":"small",]]
  .. [["vehicle_type":"small_passenger","commercial":false,"brand_model":"大众牌SVW7183",]]
  .. [["engine_number":"R%09d","fuel_type":"gasoline","battery_codes":[],"frame_present":true,]]
  .. [["engine_present":true,"encumbered":false},"owner":{"name":"李四","id_type":"resident_id",]]
  .. [["id_number":"11010519491231002X"},"received_on":"%s"}]]

request = function()
  counter = counter + 1
  local body = string.format(template, string.format("43090399%08d", counter),
    make_vin("LSJA24U60KG", counter), make_plate(counter), counter, received_on)
  return wrk.format("POST", "/api/v1/recycling-certificates", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end
