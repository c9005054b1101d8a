-- question.answer (staff). ARGV: sub, name, question id, answer text (may be
-- empty: answered on air).
local sub, name, qid, answer = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', P .. 'q:' .. qid) == 0 then return fail('not_found') end
redis.call('HSET', P .. 'q:' .. qid, 'answered', 1, 'answer', answer, 'answered_by', name)
local ev = emit(EVENTS, 'question.answered', {id = qid, answer = answer, by = name}, 'all')
return {'ok', qid, ev}
