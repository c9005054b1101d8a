-- Registers an employer (unverified).
-- KEYS: employer hash, employers set
-- ARGV: id, name, created_at
if redis.call('EXISTS', KEYS[1]) == 1 then
  return fail('conflict', 'employer already exists')
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'verified', '0',
           'created_at', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return {'ok'}
