-- Shared by the wrk scripts that post one-click applies (apply/apply.lua,
-- report/seed.lua): per-thread ids, counting answers by status, the summary.
-- Loaded with dofile(); the caller defines request() and its own init().

threads = {}
thread_count = tonumber(os.getenv("THREADS") or "2")
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

created, repeated, other = 0, 0, 0  -- globals: done() reads them per thread
function response(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 200 then repeated = repeated + 1
  else other = other + 1 end
end

-- Sums the threads' counts: created (201), repeated (200), other.
function totals()
  local c, r, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); r = r + t:get("repeated"); o = o + t:get("other")
  end
  return c, r, o
end

-- Reads targets.txt ($TARGETS): `header` first lines, then one token per
-- non-empty line. Returns the header lines (a list) and the tokens.
function load_targets(header)
  local f = assert(io.open(os.getenv("TARGETS") or "targets.txt"))
  local lines = {}
  for i = 1, header do lines[i] = f:read("*l") end
  local tokens = {}
  for line in f:lines() do if #line > 0 then tokens[#tokens + 1] = line end end
  f:close()
  return lines, tokens
end
