-- Adds a frozen job card to a room that has not ended, and to the open-jobs
-- index of each region the room counts in (recommendations read it and skip
-- cards still awaiting review).
-- KEYS: room, jobs, job_order, events, then keys.openJobs of each region level
-- ARGV: job id, job (JSON), audience of job.added ('all'; 'staff' while it
--       awaits review), index member "ROOM/JOB"
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status == 'ended' or status == 'cancelled' then
  return fail('room_ended', 'the room has ended or was cancelled')
end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  return fail('conflict', 'job id already used')
end
redis.call('RPUSH', KEYS[3], ARGV[1])
local starts = tonumber(redis.call('HGET', KEYS[1], 'scheduled_at') or '0') or 0
for i = 5, #KEYS do
  redis.call('ZADD', KEYS[i], starts, ARGV[4])
end
local id = emit(KEYS[4], 'job.added', '{"job":' .. ARGV[2] .. '}', ARGV[3])
return {'ok', id}
