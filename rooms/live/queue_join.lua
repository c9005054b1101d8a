-- queue.join (jobseeker). Idempotent: joining again keeps the place.
-- ARGV: sub, name. Keys: queue (zset by join order), queue:names, queue:seen
-- (zset sub -> last time a node saw them connected), queue:seq.
local seen = dedup_seen()
if seen then return seen end
local sub, name = ARGV[1], ARGV[2]
if is_banned(sub) then return fail('banned') end
local rank = redis.call('ZRANK', P .. 'queue', sub)
if rank then
  return dedup_keep({'ok', tostring(rank + 1), ''})
end
redis.call('ZADD', P .. 'queue', redis.call('INCR', P .. 'queue:seq'), sub)
redis.call('HSET', P .. 'queue:names', sub, name)
redis.call('ZADD', P .. 'queue:seen', now_ms(), sub)
emit_queue()
rank = redis.call('ZRANK', P .. 'queue', sub)
return dedup_keep({'ok', tostring(rank + 1), ''})
