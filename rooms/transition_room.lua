-- Moves a room along scheduled -> live -> ended, only from the expected state.
-- A room that ends is a session held: its jobs, headcount, employer and
-- signed-in viewers go into the quarterly report of each region it counts in
-- (rooms/report.h), in this script, so the report holds exactly the ended rooms.
-- KEYS: room, events; when ending also jobs, figures:viewers, then four per
--       region from the whole service down: report counts, report employers,
--       report viewers, report children
-- ARGV: from, to, timestamp field (started_at|ended_at), now; when ending
--       also the code of the region below each region ('' for the last)
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status ~= ARGV[1] then
  return fail('illegal_transition', 'room is ' .. status .. ', cannot become ' .. ARGV[2])
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], ARGV[3], ARGV[4])
if ARGV[2] == 'ended' and #KEYS > 4 then
  local jobs, headcount = 0, 0
  for _, text in ipairs(redis.call('HVALS', KEYS[3])) do
    jobs = jobs + 1
    headcount = headcount + (tonumber(cjson.decode(text).headcount) or 0)
  end
  local employer = redis.call('HGET', KEYS[1], 'employer_id') or ''
  local level = 0
  for i = 5, #KEYS - 3, 4 do
    level = level + 1
    redis.call('HINCRBY', KEYS[i], 'sessions', 1)
    redis.call('HINCRBY', KEYS[i], 'jobs', jobs)
    redis.call('HINCRBY', KEYS[i], 'headcount', headcount)
    if employer ~= '' then
      redis.call('SADD', KEYS[i + 1], employer)
    end
    redis.call('PFMERGE', KEYS[i + 2], KEYS[4])
    local child = ARGV[4 + level]
    if child and child ~= '' then
      redis.call('SADD', KEYS[i + 3], child)
    end
  end
end
local data = cjson.encode({status = ARGV[2], at = tonumber(ARGV[4])})
local id = emit(KEYS[2], 'room.status', data, 'all')
return {'ok', id}
