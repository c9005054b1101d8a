-- queue.next (the room's employer): takes the first jobseeker and offers both an
-- interview call (call_shared.lua opens it). ARGV: employer sub, employer name, call id.
local seen = dedup_seen()
if seen then return seen end
local esub, ename, call = ARGV[1], ARGV[2], ARGV[3]
local first = redis.call('ZRANGE', P .. 'queue', 0, 0)
if #first == 0 then return fail('queue_empty') end
local sub = first[1]
local name = redis.call('HGET', P .. 'queue:names', sub) or ''
local now = now_ms()
local last = tonumber(redis.call('GET', P .. 'queue:last_next') or '0')
if last > 0 and now > last then
  local avg = math.floor(queue_avg_ms() * 0.7 + (now - last) * 0.3)
  redis.call('SET', P .. 'queue:avg_ms', avg)
end
redis.call('SET', P .. 'queue:last_next', now)
queue_remove(sub, 'interview')
call_open(call, esub, ename, sub, name, now)
local offer = {call_id = call, jobseeker = {sub = sub, name = name},
               employer = {sub = esub, name = ename}, at = now}
emit(EVENTS, 'interview.offer', offer, 'user:' .. sub)
local ev = emit(EVENTS, 'interview.offer', offer, 'user:' .. esub)
emit_queue()
return dedup_keep({'ok', sub, ev, name, call})
