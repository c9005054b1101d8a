-- mod.delete (staff): removes a chat message. ARGV: message id, moderator sub.
local mid = ARGV[1]
if redis.call('DEL', P .. 'msg:' .. mid) == 0 then return fail('not_found') end
local ev = emit(EVENTS, 'chat.deleted', {id = mid}, 'all')
return {'ok', mid, ev}
