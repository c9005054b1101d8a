-- chat.pin (staff): one chat message stays on top for everyone, joiners
-- included (chat:pinned). Pinning another replaces it. ARGV: message id, staff name.
local mid, by = ARGV[1], ARGV[2]
local m = redis.call('HMGET', P .. 'msg:' .. mid, 'id', 'from', 'name', 'text', 'at')
if not m[1] then return fail('not_found') end
local pin = {id = m[1], from = m[2], name = m[3], text = m[4], at = tonumber(m[5]), by = by,
             pinned_at = now_ms()}
redis.call('SET', P .. 'chat:pinned', cjson.encode(pin))
local ev = emit(EVENTS, 'chat.pinned', pin, 'all')
return {'ok', mid, ev}
