-- A jobseeker follows (ARGV[2] = '1') or unfollows ('0') a room that has not
-- ended, for its reminders. Following twice is following once.
-- KEYS: room, followers
-- ARGV: user id, '1' | '0'
-- Answers {'ok', changed (1|0)}.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if ARGV[2] == '0' then
  return {'ok', redis.call('SREM', KEYS[2], ARGV[1])}
end
if status == 'ended' then
  return fail('room_ended', 'the room has ended')
end
if status == 'cancelled' then
  return fail('room_ended', 'the room was cancelled')
end
return {'ok', redis.call('SADD', KEYS[2], ARGV[1])}
