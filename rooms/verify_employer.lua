-- Marks an employer verified; only verified employers' rooms go live.
-- KEYS: employer hash
-- ARGV: verified_at
if redis.call('EXISTS', KEYS[1]) == 0 then
  return fail('not_found', 'no such employer')
end
redis.call('HSET', KEYS[1], 'verified', '1', 'verified_at', ARGV[1])
return {'ok', redis.call('HGETALL', KEYS[1])}
