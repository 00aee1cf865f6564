-- `POST /api/v1/verify/image` of one QR photo (scripts/bench).
-- Needs BENCH_IMAGE (a PNG file) in the environment.
local file = assert(io.open(os.getenv("BENCH_IMAGE"), "rb"))
local png = file:read("*a")
file:close()
local boundary = "scrapcert-bench-boundary"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n"
  .. 'Content-Disposition: form-data; name="image"; filename="qr.png"\r\n'
  .. "Content-Type: image/png\r\n\r\n"
  .. png .. "\r\n--" .. boundary .. "--\r\n"
