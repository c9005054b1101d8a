-- Approves a job card awaiting review: replaces the stored card if it is still
-- the one the reviewer read, and shows it to everyone.
-- KEYS: room, jobs, events
-- ARGV: job id, the card as read (JSON), the approved card (JSON)
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then
  return fail('conflict', 'the job card changed meanwhile; read it again')
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local id = emit(KEYS[3], 'job.approved', '{"job":' .. ARGV[3] .. '}', 'all')
return {'ok', id}
