-- The room as one consistent picture, with the stream position it matches.
-- ARGV: sub ('' for anonymous), role, the token's employer id (who is staff is
-- decided in C++ from the room hash returned here).
-- Returns {'ok', JSON}.
local sub, role, employer = ARGV[1], ARGV[2], ARGV[3]
local now = now_ms()
local flat = redis.call('HGETALL', P .. 'room')
if #flat == 0 then return fail('room_not_found') end
local room = {}
for i = 1, #flat, 2 do room[flat[i]] = flat[i + 1] end
-- Staff standing is decided in C++ by the access policy (rooms/access.h) from
-- the room hash returned here; the queue's entries are removed for non-staff.
local out = {room = room, now = now}
out.banned = sub ~= '' and is_banned(sub)
-- Where the stream stands: resume needs its last id, its first retained id and
-- the highest id ever deleted (trimming moves the first id instead).
out.last_id, out.first_id, out.max_deleted_id = '0-0', '', '0-0'
if redis.call('EXISTS', P .. 'events') == 1 then
  local info = redis.call('XINFO', 'STREAM', P .. 'events')
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then out.last_id = info[i + 1] end
    if info[i] == 'max-deleted-entry-id' then out.max_deleted_id = info[i + 1] end
    if info[i] == 'first-entry' and type(info[i + 1]) == 'table' then
      out.first_id = info[i + 1][1]
    end
  end
end
out.slowmode = tonumber(redis.call('GET', P .. 'slowmode') or '0')
local card = redis.call('GET', P .. 'card')
if card then out.card = cjson.decode(card) end
local pinned = redis.call('GET', P .. 'chat:pinned')
if pinned then out.pinned_message = cjson.decode(pinned) end
-- The recent chat, oldest first, without deleted messages: staff who open
-- the console late see what was said.
local chat = {}
for _, mid in ipairs(redis.call('LRANGE', P .. 'chat:recent', 0, -1)) do
  local m = redis.call('HMGET', P .. 'msg:' .. mid, 'id', 'from', 'name', 'role', 'text', 'at')
  if m[1] then
    chat[#chat + 1] = {id = m[1], from = m[2], name = m[3], role = m[4], text = m[5],
                       at = tonumber(m[6])}
  end
end
out.chat = chat
-- The room's last captions, oldest first (caption_send.lua keeps them).
local SNAPSHOT_CAPTIONS = 200
local captions = {}
local cids = redis.call('LRANGE', P .. 'captions:order', -SNAPSHOT_CAPTIONS, -1)
if #cids > 0 then
  for _, c in ipairs(redis.call('HMGET', P .. 'captions', unpack(cids))) do
    if c then captions[#captions + 1] = cjson.decode(c) end
  end
end
out.captions = captions
out.viewers = tonumber(redis.call('GET', P .. 'viewers:total') or '0')
-- A string holding the stage as JSON, owned by rooms/stage.h (Stage::fromJson).
out.stage = redis.call('GET', P .. 'stage')
local questions = {}
for _, qid in ipairs(redis.call('ZREVRANGE', P .. 'questions', 0, 19)) do
  local q = redis.call('HMGET', P .. 'q:' .. qid, 'id', 'name', 'text', 'votes', 'answered',
                       'answer')
  if q[1] then
    questions[#questions + 1] = {id = q[1], name = q[2], text = q[3], votes = tonumber(q[4]),
                                 answered = q[5] == '1', answer = q[6] or '',
                                 voted = sub ~= '' and
                                   redis.call('SISMEMBER', P .. 'q:' .. qid .. ':voters', sub) == 1}
  end
end
out.questions = questions
local n = redis.call('ZCARD', P .. 'queue')
local queue = {length = n}
if sub ~= '' then
  local rank = redis.call('ZRANK', P .. 'queue', sub)
  if rank then
    queue.position = rank + 1
    queue.eta_s = math.floor(rank * queue_avg_ms() / 1000)
  end
  local left = muted_for(sub, now)
  if left > 0 then out.muted_s = math.ceil(left / 1000) end
end
do
  local entries = {}
  for i, s in ipairs(redis.call('ZRANGE', P .. 'queue', 0, 199)) do
    entries[#entries + 1] = {sub = s, name = redis.call('HGET', P .. 'queue:names', s) or '',
                             position = i}
  end
  queue.entries = entries
end
out.queue = queue
return {'ok', cjson.encode(out)}
