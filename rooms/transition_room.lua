-- Moves a room along scheduled -> live -> ended, only from the expected state.
-- KEYS: room, events
-- ARGV: maxlen, notify, from, to, timestamp field (started_at|ended_at), now
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status ~= ARGV[3] then
  return fail('illegal_transition', 'room is ' .. status .. ', cannot become ' .. ARGV[4])
end
redis.call('HSET', KEYS[1], 'status', ARGV[4], ARGV[5], ARGV[6])
local data = cjson.encode({status = ARGV[4], at = tonumber(ARGV[6])})
local id = emit(KEYS[2], ARGV[2], ARGV[1], 'room.status', data, 'all')
return {'ok', id}
