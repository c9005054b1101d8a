-- Creates a room hash and announces it.
-- KEYS: room, events
-- ARGV: id, title, region_code, region_name, employer_id,
--       scheduled_at, created_at, counsellors (JSON array), room (JSON, event data),
--       captioners (JSON array), interpreters (JSON array), require_review ('1' or '0'),
--       description, ends_at (0: not stated)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return fail('conflict', 'room already exists')
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'title', ARGV[2], 'region_code', ARGV[3],
           'region_name', ARGV[4], 'employer_id', ARGV[5], 'status', 'scheduled',
           'scheduled_at', ARGV[6], 'started_at', '0', 'ended_at', '0', 'pinned_job', '',
           'created_at', ARGV[7], 'counsellors', ARGV[8], 'captioners', ARGV[10],
           'interpreters', ARGV[11], 'require_review', ARGV[12], 'description', ARGV[13],
           'ends_at', ARGV[14], 'sequence', '0')
local id = emit(KEYS[2], 'room.created', '{"room":' .. ARGV[9] .. '}', 'all')
return {'ok', id}
