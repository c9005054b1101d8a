-- Cancels a scheduled room, with the reason, in one step with the
-- room.status event (status "cancelled") that tells open pages and followers
-- (and the room.cancelled webhook). A cancelled room never goes live; its
-- calendar entry says CANCELLED with the next sequence number.
-- KEYS: room, events
-- ARGV: reason, now
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status ~= 'scheduled' then
  return fail('illegal_transition', 'the room is ' .. status .. '; only a scheduled room can be cancelled')
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelled_at', ARGV[2], 'cancel_reason', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'sequence', 1)
local data = cjson.encode({status = 'cancelled', at = tonumber(ARGV[2]), reason = ARGV[1]})
local id = emit(KEYS[2], 'room.status', data, 'all')
return {'ok', id}
