-- Adds a session held (a room that ended) to one region's quarterly report,
-- once per room: the whole script is in the region's slot ({g:CODE}).
-- KEYS: report counts, report employers, report viewers, report children,
--       a scratch key for the room's viewers, the rooms already counted
-- ARGV: room id, jobs, headcount, employer id ('' if none), the code of the
--       region below ('' for the last), the room's viewers HyperLogLog ('')
if redis.call('SADD', KEYS[6], ARGV[1]) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'sessions', 1)
redis.call('HINCRBY', KEYS[1], 'jobs', tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], 'headcount', tonumber(ARGV[3]))
if ARGV[4] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[4])
end
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[5], ARGV[6])
  redis.call('PFMERGE', KEYS[3], KEYS[5])
  redis.call('DEL', KEYS[5])
else
  redis.call('PFADD', KEYS[3])
end
if ARGV[5] ~= '' then
  redis.call('SADD', KEYS[4], ARGV[5])
end
return 1
