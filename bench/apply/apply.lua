-- wrk script: POST /api/v1/rooms/ROOM/jobs/JOB/apply, walking through every
-- (jobseeker, job) pair so each request is a new application until the pairs
-- run out (then repeats, answered 200). Threads take disjoint pairs.
-- Reads targets.txt written by setup.py (path in $TARGETS).

local room, jobs, tokens
local function load()
  local f = assert(io.open(os.getenv("TARGETS") or "targets.txt"))
  room = f:read("*l")
  jobs = {}
  for id in f:read("*l"):gmatch("%S+") do jobs[#jobs + 1] = id end
  tokens = {}
  for line in f:lines() do if #line > 0 then tokens[#tokens + 1] = line end end
  f:close()
end

local threads = {}
local thread_count = tonumber(os.getenv("THREADS") or "2")
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

local counter = 0
created, repeated, other = 0, 0, 0  -- globals: done() reads them per thread
function init(args)
  load()
end

function request()
  local pair = counter * thread_count + id
  counter = counter + 1
  local user = tokens[(pair % #tokens) + 1]
  local job = jobs[(math.floor(pair / #tokens) % #jobs) + 1]
  return wrk.format("POST", "/api/v1/rooms/" .. room .. "/jobs/" .. job .. "/apply",
                    {["Authorization"] = "Bearer " .. user}, "")  -- "": Content-Length: 0
end

function response(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 200 then repeated = repeated + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local c, r, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); r = r + t:get("repeated"); o = o + t:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("applies: %d created (201), %d repeats (200), %d other\n", c, r, o))
  io.write(string.format("applies/s: %.0f   p50: %.2f ms   p90: %.2f ms   p99: %.2f ms\n",
                         (c + r) / secs, latency:percentile(50) / 1000,
                         latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
