-- Changes a scheduled room: its title, description, times, region, review
-- setting or staff lists, in one step with the room.updated event that tells
-- open pages (and the room.updated webhook). Only a scheduled room changes
-- (its staff lists also while live); an ended or cancelled one refuses. The caller built the new fields
-- from the room at `sequence`; if the room moved on meanwhile (another edit)
-- nothing is written and the caller answers conflict.
-- A reschedule forgets who was reminded, so followers are reminded again for
-- the new time (rooms/remind.lua).
-- KEYS: room, events, reminded, followers
-- ARGV: sequence read, fields (JSON object field -> string), event data
--       (JSON, the room as changed), rescheduled ('1' | '0'), also while
--       live ('1' | '0')
-- Answers {'ok', event id, followers}.
local room = redis.call('HMGET', KEYS[1], 'status', 'sequence')
if not room[1] then
  return fail('room_not_found', 'no such room')
end
if room[1] ~= 'scheduled' and not (room[1] == 'live' and ARGV[5] == '1') then
  return fail('illegal_transition', 'the room is ' .. room[1] .. '; only a scheduled room can be changed')
end
if (room[2] or '0') ~= ARGV[1] then
  return fail('conflict', 'the room was changed meanwhile; read it again')
end
local fields = cjson.decode(ARGV[2])
for field, value in pairs(fields) do
  redis.call('HSET', KEYS[1], field, value)
end
redis.call('HSET', KEYS[1], 'sequence', tonumber(ARGV[1]) + 1)
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[3])
end
local id = emit(KEYS[2], 'room.updated', ARGV[3], 'all')
return {'ok', id, redis.call('SCARD', KEYS[4])}
