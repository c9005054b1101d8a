-- Revokes an account's tokens, disables or enables it: moves its gate (the
-- lowest token version accepted; negative while disabled), stores the status,
-- audits, and tells every node (they keep the gates in memory).
-- KEYS: accounts, gates, audit
-- ARGV: account id, action (revoke | disable | enable), actor, now (s),
--       audit maxlen, channel
local account = redis.call('HGET', KEYS[1], ARGV[1])
if not account then
  return {'err', 'not_found'}
end
local gate = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '1')
if ARGV[2] == 'enable' and gate > 0 then
  return {'ok', account, tostring(gate)}  -- active already: its tokens stay good
end
local next_version = math.abs(gate) + 1
local status = 'active'
if ARGV[2] == 'disable' or (ARGV[2] == 'revoke' and gate < 0) then
  gate = -next_version
  status = 'disabled'
else
  gate = next_version
end
local a = cjson.decode(account)
a['status'] = status
account = cjson.encode(a)
redis.call('HSET', KEYS[1], ARGV[1], account)
redis.call('HSET', KEYS[2], ARGV[1], gate)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*',
  'action', ARGV[2], 'account', ARGV[1], 'by', ARGV[3], 'at', ARGV[4])
redis.call('PUBLISH', ARGV[6], ARGV[1] .. ' ' .. gate)
return {'ok', account, tostring(gate)}
