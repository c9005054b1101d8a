-- Moves retries that are due back onto the deliveries stream.
-- KEYS: retries, deliveries
-- ARGV: now (ms)
-- Answers the number moved.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, text in ipairs(due) do
  local d = cjson.decode(text)
  redis.call('XADD', KEYS[2], '*', 'endpoint', d.endpoint, 'type', d.type, 'event', d.event,
             'data', d.data, 'attempt', d.attempt, 'created_at', d.created_at)
  redis.call('ZREM', KEYS[1], text)
end
return #due
