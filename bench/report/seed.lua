-- wrk script: APPLICATIONS one-click applies, each a new (jobseeker, room)
-- pair: jobseeker p % USERS to room (p / USERS * 10 + jobseeker) % ROOMS, so
-- every room gets about APPLICATIONS / ROOMS applicants; past that, repeats
-- (200, nothing new stored) until run.sh sees the seed complete in the report
-- and stops wrk. Reads targets.txt written by setup.py ($TARGETS): the
-- "ROOM/JOB" pairs, then one jobseeker token per line.
dofile(os.getenv("WRK_LIB") .. "/wrk_apply.lua")

local pairs_, tokens
local total = tonumber(os.getenv("APPLICATIONS") or "200000")
function init(args)
  local header
  header, tokens = load_targets(1)
  pairs_ = {}
  for p in header[1]:gmatch("%S+") do pairs_[#pairs_ + 1] = p end
end

local counter = 0
function request()
  local p = counter * thread_count + id
  counter = counter + 1
  if p >= total then p = id end  -- past the share: a repeat (200), until the stop
  local user = p % #tokens
  local room = (math.floor(p / #tokens) * 10 + user) % #pairs_
  local r, j = pairs_[room + 1]:match("([^/]+)/(.+)")
  return wrk.format("POST", "/api/v1/rooms/" .. r .. "/jobs/" .. j .. "/apply",
                    {["Authorization"] = "Bearer " .. tokens[user + 1]}, "")
end

function done(summary, latency, requests)
  local c, r, o = totals()
  io.write(string.format("seeded: %d applications (201), %d repeats, %d other, in %.1f s\n",
                         c, r, o, summary.duration / 1e6))
end
