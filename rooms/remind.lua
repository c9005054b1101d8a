-- Queues one reminder.due webhook event per follower of a room that starts
-- within the lead time, once per follower: the room's `reminded` set marks
-- who was reminded, in this script, so a second node (or a retry after a
-- crash) queues nothing twice, and someone who follows later is reminded on
-- the next pass. Nothing here is a room event: viewers do not hear of it.
-- KEYS: room, followers, reminded
-- ARGV: now, lead (s), room page URL
-- Answers {'ok', queued} or {'ok', -1, due} when the room now starts later
-- (rescheduled): the caller queues it again for `due`.
local room = redis.call('HMGET', KEYS[1], 'id', 'title', 'status', 'scheduled_at')
if not room[1] or room[3] == 'ended' or room[3] == 'cancelled' then
  return {'ok', 0}
end
local now, lead = tonumber(ARGV[1]), tonumber(ARGV[2])
local starts = tonumber(room[4]) or 0
if room[3] == 'scheduled' and starts - lead > now then
  return {'ok', -1, starts - lead}
end
local queued = 0
for _, user in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('SADD', KEYS[3], user) == 1 then
    hook(room_prefix(KEYS[1]), 'reminder.due',
         {room_id = room[1], title = room[2], starts_at = starts, url = ARGV[3], user = user})
    queued = queued + 1
  end
end
return {'ok', queued}
