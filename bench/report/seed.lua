-- wrk script: APPLICATIONS one-click applies, each a new (jobseeker, room)
-- pair: jobseeker p % USERS to room (p / USERS * 10 + jobseeker) % ROOMS, so
-- every room gets about APPLICATIONS / ROOMS applicants; past that, repeats
-- (200, nothing new stored) until run.sh sees the seed complete in the report
-- and stops wrk. Reads targets.txt written by setup.py ($TARGETS).

local pairs_, tokens
local function load()
  local f = assert(io.open(os.getenv("TARGETS") or "targets.txt"))
  pairs_ = {}
  for p in f:read("*l"):gmatch("%S+") do pairs_[#pairs_ + 1] = p end
  tokens = {}
  for line in f:lines() do if #line > 0 then tokens[#tokens + 1] = line end end
  f:close()
end

local threads = {}
local thread_count = tonumber(os.getenv("THREADS") or "2")
local total = tonumber(os.getenv("APPLICATIONS") or "200000")
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

local counter = 0
created, repeated, other = 0, 0, 0
function init(args)
  load()
end

function request()
  local p = counter * thread_count + id
  counter = counter + 1
  if p >= total then p = id end  -- past the share: a repeat (200), until the stop
  local user = p % #tokens
  local room = (math.floor(p / #tokens) * 10 + user) % #pairs_
  local pair = pairs_[room + 1]
  local r, j = pair:match("([^/]+)/(.+)")
  return wrk.format("POST", "/api/v1/rooms/" .. r .. "/jobs/" .. j .. "/apply",
                    {["Authorization"] = "Bearer " .. tokens[user + 1]}, "")
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
  io.write(string.format("seeded: %d applications (201), %d repeats, %d other, in %.1f s\n",
                         c, r, o, summary.duration / 1e6))
end
