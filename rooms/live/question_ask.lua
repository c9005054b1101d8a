-- question.ask. ARGV: sub, name, text. Keys: q:ID (hash), questions (zset by votes).
local seen = dedup_seen()
if seen then return seen end
local sub, name, text = ARGV[1], ARGV[2], ARGV[3]
local now = now_ms()
if is_banned(sub) then return fail('banned') end
local left = muted_for(sub, now)
if left > 0 then return fail('muted', tostring(math.ceil(left / 1000))) end
local id = 'q' .. redis.call('INCR', P .. 'seq')
redis.call('HSET', P .. 'q:' .. id, 'id', id, 'from', sub, 'name', name, 'text', text,
           'votes', 0, 'answered', 0, 'at', now)
redis.call('ZADD', P .. 'questions', 0, id)
local ev = emit(EVENTS, 'question.asked', {id = id, from = sub, name = name, text = text, votes = 0,
                                   at = now}, 'all')
return dedup_keep({'ok', id, ev})
