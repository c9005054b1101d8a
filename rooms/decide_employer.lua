-- An admin's decision on an employer: verify, reject or suspend, only from a
-- status the decision allows (the state machine lives in rooms/model.cpp and
-- arrives as ARGV[5]), written to the employers' audit stream in the same
-- script. Deciding what the employer already is changes nothing.
-- KEYS: employer hash, employers' audit stream
-- ARGV: new status, by (user id), now, reason, allowed previous statuses
--       (comma separated)
-- Answers {'ok', changed (1|0), employer hash as a flat list}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return fail('not_found', 'no such employer')
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then  -- made by an admin before employers had a status
  status = redis.call('HGET', KEYS[1], 'verified') == '1' and 'verified' or 'pending'
end
if status == ARGV[1] then
  return {'ok', 0, redis.call('HGETALL', KEYS[1])}
end
local allowed = false
for s in string.gmatch(ARGV[5], '[^,]+') do
  if s == status then
    allowed = true
  end
end
if not allowed then
  return fail('illegal_transition', 'an employer cannot go from ' .. status .. ' to ' .. ARGV[1])
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'verified', ARGV[1] == 'verified' and '1' or '0',
           'reason', ARGV[4], 'decided_at', ARGV[3])
if ARGV[1] == 'verified' then
  redis.call('HSET', KEYS[1], 'verified_at', ARGV[3])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000000, '*', 'employer',
           redis.call('HGET', KEYS[1], 'id'), 'decision', ARGV[1], 'from', status, 'by', ARGV[2],
           'at', ARGV[3], 'reason', ARGV[4])
return {'ok', 1, redis.call('HGETALL', KEYS[1])}
