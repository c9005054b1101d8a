-- Creates a staff account and its gate (tokens of version 1 and later are
-- accepted), with an audit entry.
-- KEYS: accounts, gates, audit
-- ARGV: account id, account JSON, actor, now (s), audit maxlen
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return {'err', 'conflict'}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], 1)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*',
  'action', 'create', 'account', ARGV[1], 'by', ARGV[3], 'at', ARGV[4])
return {'ok'}
