-- An employer registers itself: pending until an admin verifies it. One
-- employer per unified social credit code. The registration is the first
-- entry of the employer in the employers' audit stream.
-- KEYS: employer hash, employers set, credit code index (hash code -> id),
--       employers' audit stream
-- ARGV: id, name, credit code, region code, sealed contact, created_at
if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then
  return fail('conflict', 'an employer with this credit code is already registered')
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return fail('conflict', 'employer already exists')
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'verified', '0', 'status', 'pending',
           'credit_code', ARGV[3], 'region_code', ARGV[4], 'contact', ARGV[5],
           'created_at', ARGV[6])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000000, '*', 'employer', ARGV[1], 'decision',
           'registered', 'from', '', 'by', 'self', 'at', ARGV[6], 'reason', '')
return {'ok'}
