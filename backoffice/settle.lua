-- Settles one delivery a consumer read from the deliveries stream: done, or
-- failed (then due again after a backoff, or dead-lettered after the last try).
-- KEYS: deliveries, retries, dead
-- ARGV: entry id, group, outcome ('done'|'failed'), delivery (JSON object of
--       the entry's fields), attempt, max attempts, due at (ms), error text
-- Answers 'done', 'retry' or 'dead'.
redis.call('XACK', KEYS[1], ARGV[2], ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if ARGV[3] == 'done' then
  return 'done'
end
local delivery = cjson.decode(ARGV[4])
local attempt = tonumber(ARGV[5])
if attempt >= tonumber(ARGV[6]) then
  redis.call('XADD', KEYS[3], '*', 'endpoint', delivery.endpoint, 'type', delivery.type,
             'event', delivery.event, 'data', delivery.data, 'attempts', tostring(attempt),
             'created_at', delivery.created_at, 'error', ARGV[8])
  return 'dead'
end
delivery.attempt = tostring(attempt + 1)
redis.call('ZADD', KEYS[2], ARGV[7], cjson.encode(delivery))
return 'retry'
