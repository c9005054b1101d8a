-- Moves an application along its pipeline, only from an allowed status
-- (the state machine lives in rooms/model.cpp and arrives as ARGV[5]).
-- Setting the status it already has changes nothing.
-- KEYS: apps, events (the caller counts interviews and hires in the
--       quarterly report of each region, in their own slots; rooms/report.h)
-- ARGV: application id, new status, by (user id), now,
--       allowed previous statuses (comma separated)
-- Answers {'ok', changed (1|0), application JSON}.
local text = redis.call('HGET', KEYS[1], ARGV[1])
if not text then
  return fail('not_found', 'no such application')
end
local app = cjson.decode(text)
if app.status == ARGV[2] then
  return {'ok', 0, text}
end
local allowed = false
for s in string.gmatch(ARGV[5], '[^,]+') do
  if s == app.status then
    allowed = true
  end
end
if not allowed then
  return fail('illegal_transition', 'an application cannot go from ' .. app.status .. ' to ' .. ARGV[2])
end
local now = tonumber(ARGV[4])
app.status = ARGV[2]
table.insert(app.history, {status = ARGV[2], at = now, by = ARGV[3]})
text = cjson.encode(app)
redis.call('HSET', KEYS[1], ARGV[1], text)
local data = cjson.encode({id = app.id, job_id = app.job_id, status = app.status, at = now,
                           by = ARGV[3]})
emit(KEYS[2], 'application.status', data, 'staff')
emit(KEYS[2], 'application.status', data, 'user:' .. app.applicant)
return {'ok', 1, text}
