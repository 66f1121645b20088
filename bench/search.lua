-- bench/search.lua — wrk script: POST /api/search for city SHA, check-in today+30 and
-- check-out today+32 (UTC), one room for two adults, as demo agent A. Used by bench/run.sh
-- against bedbank (fan-out and cache-hit runs) and against nginx (the static baseline).
-- The path can be changed with the environment variable BENCH_SEARCH_PATH.

local seconds_per_day = 86400
local check_in_days = 30
local check_out_days = 32

local function day(offset_days)
  return os.date("!%Y-%m-%d", os.time() + offset_days * seconds_per_day)
end

wrk.method = "POST"
wrk.path = os.getenv("BENCH_SEARCH_PATH") or "/api/search"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer demo-key-a"
wrk.body = string.format(
  '{"city":"SHA","check_in":"%s","check_out":"%s","rooms":[{"adults":2}]}',
  day(check_in_days), day(check_out_days))
