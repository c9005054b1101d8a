-- Redeems a one-time sign-in code: the code is gone whatever follows, so it
-- is used once. Answers the account and the token version to issue.
-- KEYS: code key, accounts, gates, audit
-- ARGV: now (s), audit maxlen, code fingerprint
local id = redis.call('GET', KEYS[1])
if not id then
  return {'err', 'invalid_signin_code'}
end
redis.call('DEL', KEYS[1])
local account = redis.call('HGET', KEYS[2], id)
if not account then
  return {'err', 'invalid_signin_code'}
end
local gate = tonumber(redis.call('HGET', KEYS[3], id) or '1')
if gate < 0 then
  return {'err', 'account_disabled'}
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], '*',
  'action', 'signin', 'account', id, 'by', id, 'at', ARGV[1], 'code', ARGV[3])
return {'ok', account, tostring(gate)}
