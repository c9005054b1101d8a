-- mod.ban (staff): the user may not act in or watch the room any more; nodes
-- disconnect their connections on the event. ARGV: target sub.
local target = ARGV[1]
redis.call('SADD', P .. 'bans', target)
redis.call('HDEL', P .. 'mutes', target)
local ev = emit(EVENTS, 'user.banned', {sub = target}, 'all')
if queue_remove(target, 'banned') then emit_queue() end
return {'ok', target, ev}
