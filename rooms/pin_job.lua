-- Pins one of the room's jobs (the card on screen).
-- KEYS: room, jobs, events
-- ARGV: job id
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status == 'ended' then
  return fail('room_ended', 'the room has ended')
end
local job = redis.call('HGET', KEYS[2], ARGV[1])
if not job then
  return fail('not_found', 'no such job in this room')
end
if cjson.decode(job).review and cjson.decode(job).review.status == 'pending' then
  return fail('illegal_transition', 'the job card awaits review')
end
redis.call('HSET', KEYS[1], 'pinned_job', ARGV[1])
local id = emit(KEYS[3], 'job.pinned',
                '{"job_id":' .. cjson.encode(ARGV[1]) .. ',"job":' .. job .. '}', 'all')
return {'ok', id, job}
