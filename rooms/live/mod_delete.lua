-- mod.delete (staff): removes a chat message, from the recent history and, if
-- pinned, from the pin. ARGV: message id, moderator sub.
local mid = ARGV[1]
if redis.call('DEL', P .. 'msg:' .. mid) == 0 then return fail('not_found') end
redis.call('LREM', P .. 'chat:recent', 0, mid)
local ev = emit(EVENTS, 'chat.deleted', {id = mid}, 'all')
local pinned = redis.call('GET', P .. 'chat:pinned')
if pinned and cjson.decode(pinned).id == mid then
  redis.call('DEL', P .. 'chat:pinned')
  emit(EVENTS, 'chat.unpinned', {id = mid}, 'all')
end
return {'ok', mid, ev}
