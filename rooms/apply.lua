-- One-click apply, idempotent: one application per (applicant, job). A repeat
-- returns the first application unchanged and emits nothing.
-- KEYS: room, jobs, apps, app_by_user, app_order, counts, events (one slot:
--       the caller adds a new application to the quarterly report of each
--       region, which live in their own slots; rooms/report.h)
-- ARGV: new application id, applicant, job id, now, key group
--       ('' unless consented), room id
-- Answers {'ok', created (1|0), application JSON}.
local dedupe = ARGV[2] .. '|' .. ARGV[3]
local existing = redis.call('HGET', KEYS[4], dedupe)
if existing then
  return {'ok', 0, redis.call('HGET', KEYS[3], existing)}
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status == 'ended' or status == 'cancelled' then
  return fail('room_ended', 'the room has ended or was cancelled')
end
local job = redis.call('HGET', KEYS[2], ARGV[3])
if not job then
  return fail('not_found', 'no such job in this room')
end
local card = cjson.decode(job)
if card.review and card.review.status == 'pending' then
  return fail('not_found', 'no such job in this room')
end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return fail('conflict', 'application id already used')
end
local now = tonumber(ARGV[4])
local app = cjson.encode({
  id = ARGV[1], room_id = ARGV[6], job_id = ARGV[3], job_title = cjson.decode(job).title,
  applicant = ARGV[2], status = 'applied', applied_at = now,
  history = {{status = 'applied', at = now, by = ARGV[2]}}})
redis.call('HSET', KEYS[3], ARGV[1], app)
redis.call('HSET', KEYS[4], dedupe, ARGV[1])
redis.call('RPUSH', KEYS[5], ARGV[1])
local total = redis.call('HINCRBY', KEYS[6], 'applications', 1)
local for_job = redis.call('HINCRBY', KEYS[6], 'job:' .. ARGV[3], 1)
if ARGV[5] ~= '' then
  redis.call('HINCRBY', KEYS[6], 'group:' .. ARGV[5], 1)
end
emit(KEYS[7], 'application.created', '{"application":' .. app .. '}', 'staff')
emit(KEYS[7], 'application.count',
     cjson.encode({job_id = ARGV[3], job_count = for_job, total = total}), 'all')
return {'ok', 1, app}
