-- chat.unpin (staff): removes the pinned chat message. ARGV: none.
local pinned = redis.call('GET', P .. 'chat:pinned')
if not pinned then return fail('not_found') end
local mid = cjson.decode(pinned).id
redis.call('DEL', P .. 'chat:pinned')
local ev = emit(EVENTS, 'chat.unpinned', {id = mid}, 'all')
return {'ok', mid, ev}
