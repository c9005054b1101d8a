-- One-click apply, idempotent: one application per (applicant, job). A repeat
-- returns the first application unchanged and emits nothing.
-- KEYS: room, jobs, apps, app_by_user, app_order, counts, events
-- ARGV: maxlen, notify, new application id, applicant, job id, now, key group
--       ('' unless consented), room id
-- Answers {'ok', created (1|0), application JSON}.
local dedupe = ARGV[4] .. '|' .. ARGV[5]
local existing = redis.call('HGET', KEYS[4], dedupe)
if existing then
  return {'ok', 0, redis.call('HGET', KEYS[3], existing)}
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return fail('room_not_found', 'no such room')
end
if status == 'ended' then
  return fail('room_ended', 'the room has ended')
end
local job = redis.call('HGET', KEYS[2], ARGV[5])
if not job then
  return fail('not_found', 'no such job in this room')
end
if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then
  return fail('conflict', 'application id already used')
end
local now = tonumber(ARGV[6])
local app = cjson.encode({
  id = ARGV[3], room_id = ARGV[8], job_id = ARGV[5], job_title = cjson.decode(job).title,
  applicant = ARGV[4], status = 'applied', applied_at = now,
  history = {{status = 'applied', at = now, by = ARGV[4]}}})
redis.call('HSET', KEYS[3], ARGV[3], app)
redis.call('HSET', KEYS[4], dedupe, ARGV[3])
redis.call('RPUSH', KEYS[5], ARGV[3])
local total = redis.call('HINCRBY', KEYS[6], 'applications', 1)
local for_job = redis.call('HINCRBY', KEYS[6], 'job:' .. ARGV[5], 1)
if ARGV[7] ~= '' then
  redis.call('HINCRBY', KEYS[6], 'group:' .. ARGV[7], 1)
end
emit(KEYS[7], ARGV[2], ARGV[1], 'application.created', '{"application":' .. app .. '}', 'staff')
emit(KEYS[7], ARGV[2], ARGV[1], 'application.count',
     cjson.encode({job_id = ARGV[5], job_count = for_job, total = total}), 'all')
return {'ok', 1, app}
