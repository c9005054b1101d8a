-- Moves a room along scheduled -> live -> ended, only from the expected state.
-- KEYS: room, events
-- ARGV: from, to, timestamp field (started_at|ended_at), now
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status ~= ARGV[1] then
  return fail('illegal_transition', 'room is ' .. status .. ', cannot become ' .. ARGV[2])
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], ARGV[3], ARGV[4])
local data = cjson.encode({status = ARGV[2], at = tonumber(ARGV[4])})
local id = emit(KEYS[2], 'room.status', data, 'all')
return {'ok', id}
