-- Stores a one-time sign-in code (its SHA-256 only) for an active account.
-- KEYS: accounts, gates, code key, audit
-- ARGV: account id, ttl (s), actor, now (s), audit maxlen, code fingerprint
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return {'err', 'not_found'}
end
local gate = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '1')
if gate < 0 then
  return {'err', 'account_disabled'}
end
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*',
  'action', 'issue_link', 'account', ARGV[1], 'by', ARGV[3], 'at', ARGV[4],
  'code', ARGV[6], 'ttl_s', ARGV[2])
return {'ok'}
