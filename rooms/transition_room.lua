-- Moves a room along scheduled -> live -> ended, only from the expected state.
-- A room that ends is a session held: this script answers what the quarterly
-- report of each region it counts in needs (rooms/report.h), and the caller
-- adds it there with rooms/report_session.lua, one script per region (each
-- region is its own slot on a Redis Cluster).
-- KEYS: room, events; when ending also jobs, figures:viewers
-- ARGV: from, to, timestamp field (started_at|ended_at), now
-- Answers {'ok', event id}; when ending {'ok', event id, jobs, headcount,
-- employer id, the viewers HyperLogLog ('' when none)}.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status ~= ARGV[1] then
  return fail('illegal_transition', 'room is ' .. status .. ', cannot become ' .. ARGV[2])
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], ARGV[3], ARGV[4])
local session = nil
if ARGV[2] == 'ended' and #KEYS >= 4 then
  local jobs, headcount = 0, 0
  for _, text in ipairs(redis.call('HVALS', KEYS[3])) do
    jobs = jobs + 1
    headcount = headcount + (tonumber(cjson.decode(text).headcount) or 0)
  end
  local employer = redis.call('HGET', KEYS[1], 'employer_id') or ''
  session = {tostring(jobs), tostring(headcount), employer, redis.call('GET', KEYS[4]) or ''}
end
local data = cjson.encode({status = ARGV[2], at = tonumber(ARGV[4])})
local id = emit(KEYS[2], 'room.status', data, 'all')
if session then
  return {'ok', id, session[1], session[2], session[3], session[4]}
end
return {'ok', id}
