-- card.hide (who may show cards): takes the card off everyone's screen.
-- ARGV: hidden-by name.
if redis.call('DEL', P .. 'card') == 0 then return fail('not_found') end
local ev = emit(EVENTS, 'card.hidden', {by = ARGV[1], at = now_ms()}, 'all')
return {'ok', '', ev}
