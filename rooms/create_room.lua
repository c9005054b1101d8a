-- Creates a room hash and announces it.
-- KEYS: room, events
-- ARGV: maxlen, notify, id, title, region_code, region_name, employer_id,
--       scheduled_at, created_at, counsellors (JSON array), room (JSON, event data),
--       captioners (JSON array), interpreters (JSON array)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return fail('conflict', 'room already exists')
end
redis.call('HSET', KEYS[1], 'id', ARGV[3], 'title', ARGV[4], 'region_code', ARGV[5],
           'region_name', ARGV[6], 'employer_id', ARGV[7], 'status', 'scheduled',
           'scheduled_at', ARGV[8], 'started_at', '0', 'ended_at', '0', 'pinned_job', '',
           'created_at', ARGV[9], 'counsellors', ARGV[10], 'captioners', ARGV[12],
           'interpreters', ARGV[13])
local id = emit(KEYS[2], ARGV[2], ARGV[1], 'room.created', '{"room":' .. ARGV[11] .. '}', 'all')
return {'ok', id}
