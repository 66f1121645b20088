-- bench/by_order.lua — wrk script: GET /api/traces/by-order/{order_id} as demo agent A, each
-- request for an order id drawn at random from a file of ids (one per line; the first
-- whitespace-separated field of each line is the id). Used by bench/run.sh (benchmark 5,
-- traces). The file is named by the environment variable BENCH_ORDER_IDS; the path prefix
-- can be changed with BENCH_BY_ORDER_PATH (e.g. /admin/traces/by-order/ with another token
-- in BENCH_AUTHORIZATION).

local ids_file = os.getenv("BENCH_ORDER_IDS")
local prefix = os.getenv("BENCH_BY_ORDER_PATH") or "/api/traces/by-order/"
local authorization = os.getenv("BENCH_AUTHORIZATION") or "Bearer demo-key-a"

local ids = {}

local function load_ids()
  if ids_file == nil or ids_file == "" then
    error("by_order.lua: set BENCH_ORDER_IDS to a file of order ids")
  end
  local f = io.open(ids_file, "r")
  if f == nil then
    error("by_order.lua: cannot open " .. ids_file)
  end
  for line in f:lines() do
    local id = line:match("^%s*(%S+)")
    if id ~= nil then
      ids[#ids + 1] = id
    end
  end
  f:close()
  if #ids == 0 then
    error("by_order.lua: no order ids in " .. ids_file)
  end
end

load_ids()

-- Each wrk thread runs this script in its own Lua state: seed every state differently.
local seed_counter = 0

function setup(thread)
  seed_counter = seed_counter + 1
  thread:set("thread_seed", seed_counter)
end

function init(args)
  math.randomseed(os.time() + 7919 * (thread_seed or 0))
  wrk.headers["Authorization"] = authorization
  wrk.headers["Accept"] = "application/json"
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
