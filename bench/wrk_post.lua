-- wrk script: POST /expenses with a new merchant on every request (no two bodies alike).
-- The token comes from the WRK_TOKEN environment variable; the date from WRK_DATE.
local counter = 0
local token = os.getenv("WRK_TOKEN") or ""
local day = os.getenv("WRK_DATE") or "2026-11-20"

request = function()
  counter = counter + 1
  local body = string.format(
    '{"amount":"%d.00","currency":"USD","category":"travel","merchant":"Bench %d-%d",' ..
    '"description":"load","incurred_on":"%s"}',
    10 + counter % 900, counter, math.random(1, 1000000000), day)
  local headers = {["Content-Type"] = "application/json"}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", "/expenses", headers, body)
end
