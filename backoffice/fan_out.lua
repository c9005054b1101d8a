-- Hands one room webhook event to every endpoint registered for its type,
-- once: a second call with the same event (another node, or a retry after a
-- crash between this script and the room outbox's XDEL) finds the seen mark.
-- KEYS: endpoints, seen mark of the event, deliveries
-- ARGV: type, data (JSON), event id (ROOM/ENTRY), now (ms), seen TTL (s)
-- Answers the number of deliveries queued.
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[5]) then
  return 0
end
local all = redis.call('HGETALL', KEYS[1])
local queued = 0
for i = 1, #all, 2 do
  local endpoint = cjson.decode(all[i + 1])
  for _, t in ipairs(endpoint.events) do
    if t == ARGV[1] then
      redis.call('XADD', KEYS[3], '*', 'endpoint', all[i], 'type', ARGV[1], 'event', ARGV[3],
                 'data', ARGV[2], 'attempt', '1', 'created_at', ARGV[4])
      queued = queued + 1
    end
  end
end
return queued
