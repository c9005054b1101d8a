-- Adds a frozen job card to a room that has not ended. The caller then adds
-- it to the open-jobs index of each region the room counts in, with the
-- score returned here (recommendations read that index and skip cards still
-- awaiting review): those keys live in each region's slot, not the room's,
-- so on a Redis Cluster no one script may touch both.
-- KEYS: room, jobs, job_order, events
-- ARGV: job id, job (JSON), audience of job.added ('all'; 'staff' while it
--       awaits review)
-- Returns {'ok', event id, the room's scheduled start (the index score)}.
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
local id = emit(KEYS[4], 'job.added', '{"job":' .. ARGV[2] .. '}', ARGV[3])
return {'ok', id, tostring(starts)}
