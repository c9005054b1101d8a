-- wrk script: POST /api/v1/rooms/ROOM/jobs/JOB/apply, walking through every
-- (jobseeker, job) pair so each request is a new application until the pairs
-- run out (then repeats, answered 200). Threads take disjoint pairs.
-- Reads targets.txt written by setup.py ($TARGETS): the room id, the job ids,
-- then one jobseeker token per line.
dofile(os.getenv("WRK_LIB") .. "/wrk_apply.lua")

local room, jobs, tokens
function init(args)
  local header
  header, tokens = load_targets(2)
  room, jobs = header[1], {}
  for id in header[2]:gmatch("%S+") do jobs[#jobs + 1] = id end
end

local counter = 0
function request()
  local pair = counter * thread_count + id
  counter = counter + 1
  local user = tokens[(pair % #tokens) + 1]
  local job = jobs[(math.floor(pair / #tokens) % #jobs) + 1]
  return wrk.format("POST", "/api/v1/rooms/" .. room .. "/jobs/" .. job .. "/apply",
                    {["Authorization"] = "Bearer " .. user}, "")  -- "": Content-Length: 0
end

function done(summary, latency, requests)
  local c, r, o = totals()
  local secs = summary.duration / 1e6
  io.write(string.format("applies: %d created (201), %d repeats (200), %d other\n", c, r, o))
  io.write(string.format("applies/s: %.0f   p50: %.2f ms   p90: %.2f ms   p99: %.2f ms\n",
                         (c + r) / secs, latency:percentile(50) / 1000,
                         latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
