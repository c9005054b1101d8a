-- A node's heartbeat for one room. ARGV: node id, local viewer count, ttl_ms,
-- queue grace_ms, K, then K subjects this node has not counted in the room's
-- figures yet, then the subjects connected here.
-- Keys: viewers (hash node -> count), viewers:beat (zset node -> expiry ms),
-- viewers:total (last announced total), queue:seen.
local node, count, ttl, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
if count > 0 then
  redis.call('HSET', P .. 'viewers', node, count)
  redis.call('ZADD', P .. 'viewers:beat', now + ttl, node)
else
  redis.call('HDEL', P .. 'viewers', node)
  redis.call('ZREM', P .. 'viewers:beat', node)
end
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', P .. 'viewers:beat', '-inf', now)) do
  redis.call('HDEL', P .. 'viewers', dead)
  redis.call('ZREM', P .. 'viewers:beat', dead)
end
local total = 0
for _, v in ipairs(redis.call('HVALS', P .. 'viewers')) do total = total + tonumber(v) end
if tonumber(redis.call('GET', P .. 'viewers:total') or '-1') ~= total then
  redis.call('SET', P .. 'viewers:total', total)
  emit(EVENTS, 'viewers.changed', {count = total}, 'all')
end
local new = tonumber(ARGV[5])
count_viewers(P, ARGV, 6, 5 + new)  -- the room's figures (rooms/prelude.lua)
-- Queued people still connected somewhere stay; the others leave after the grace.
for i = 6 + new, #ARGV do
  redis.call('ZADD', P .. 'queue:seen', 'XX', now, ARGV[i])
end
local gone = false
for _, sub in ipairs(redis.call('ZRANGEBYSCORE', P .. 'queue:seen', '-inf', now - grace)) do
  gone = queue_remove(sub, 'disconnected') or gone
end
if gone then emit_queue() end
return {'ok', tostring(total), ''}
