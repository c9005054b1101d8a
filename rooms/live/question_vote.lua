-- question.vote: once per user per question. ARGV: sub, question id.
-- Keys: q:ID, q:ID:voters (set), questions.
local seen = dedup_seen()
if seen then return seen end
local sub, qid = ARGV[1], ARGV[2]
if is_banned(sub) then return fail('banned') end
if redis.call('EXISTS', P .. 'q:' .. qid) == 0 then return fail('not_found') end
if redis.call('SADD', P .. 'q:' .. qid .. ':voters', sub) == 0 then
  return fail('already_voted')
end
local votes = redis.call('HINCRBY', P .. 'q:' .. qid, 'votes', 1)
redis.call('ZADD', P .. 'questions', votes, qid)
local ev = emit(EVENTS, 'question.voted', {id = qid, votes = votes}, 'all')
return dedup_keep({'ok', tostring(votes), ev})
