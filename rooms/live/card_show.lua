-- card.show (counsellor): a policy or contract-template card on everyone's
-- screen. ARGV: card JSON (validated by the caller), shown-by name.
local card = cjson.decode(ARGV[1])
card.by = ARGV[2]
card.at = now_ms()
redis.call('SET', P .. 'card', cjson.encode(card))
local ev = emit(EVENTS, 'card.shown', card, 'all')
return {'ok', '', ev}
