-- call.join (a party of the call): enters the call after its offer, or again
-- after a page reload within the grace period. ARGV: sub, call id ('': the
-- caller's open call). Answers {'ok', the call as the caller sees it (JSON)}.
local sub, id = ARGV[1], ARGV[2]
if id == '' then
  id = redis.call('HGET', CALLS_BY_SUB, sub)
  if not id then return fail('call_not_found') end
end
local c = call_read(id)
if not c then return fail('call_not_found') end
local role = call_role(c, sub)
if not role then return fail('call_forbidden') end
if c.ended_at then return fail('call_ended') end
local now = now_ms()
redis.call('HSET', CALL_PREFIX .. id, role .. '_joined', now, 'seen_' .. role, now)
c[role .. '_joined'] = tostring(now)
local peer = call_other(role)
local v = call_view(c, peer)
v.joined = role
emit(EVENTS, 'call.state', v, 'user:' .. c[peer])
return {'ok', cjson.encode(call_view(c, role))}
