-- call.signal (a party of the call): offer, answer, candidate and media go to
-- the other party's connections only (audience user:PEER); hangup and
-- decline end the call. The jobseeker's first answer starts it.
-- ARGV: sub, call id, kind, the signal for the peer (JSON, built by the node).
-- Answers {'ok', outcome or ''}.
local sub, id, kind, signal = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local c = call_read(id)
if not c then return fail('call_not_found') end
local role = call_role(c, sub)
if not role then return fail('call_forbidden') end
if c.ended_at then return fail('call_ended') end
local now = now_ms()
redis.call('HSET', CALL_PREFIX .. id, 'seen_' .. role, now)
if kind == 'hangup' or kind == 'decline' then
  local outcome = 'no_show'
  if c.started_at then
    outcome = 'completed'
  elseif role == 'jobseeker' then
    outcome = 'declined'
  end
  call_finish(c, outcome, now)
  return {'ok', outcome}
end
if kind == 'answer' and role == 'jobseeker' and not c.started_at then
  redis.call('HSET', CALL_PREFIX .. id, 'started_at', now)
  c.started_at = tostring(now)
  call_tell(c, nil)
end
local out = cjson.decode(signal)
out.from = role
emit(EVENTS, 'call.signal', out, 'user:' .. c[call_other(role)])
return {'ok', ''}
