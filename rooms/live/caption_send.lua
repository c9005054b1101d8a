-- caption.send (captioner). ARGV: text, language, final (1/0), captioner
-- name, the node's time (ms), the caption it replaces ('' for a new one,
-- 'last' for the room's last caption, or a caption id).
-- Keys: captions (hash: caption id -> caption JSON), captions:order (list of
-- caption ids, oldest first, the last CAPTIONS_MAX kept): the room's caption
-- history, read by joiners (snapshot), the HLS subtitle rendition and the
-- recording's WebVTT file. A correction keeps the caption's id and start time,
-- so a cue already shown keeps its place in time.
local CAPTIONS_MAX = 5000
local text, lang, final, by, now = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4], tonumber(ARGV[5])
local replaces = ARGV[6]
if replaces ~= '' then
  local cid = replaces
  if cid == 'last' then
    cid = redis.call('LINDEX', P .. 'captions:order', -1)
    if not cid then return fail('not_found', 'no caption to correct') end
  end
  local old = redis.call('HGET', P .. 'captions', cid)
  if not old then return fail('not_found', 'no such caption') end
  local c = cjson.decode(old)
  c.text, c.lang, c.final, c.by, c.edited_at = text, lang, final, by, now
  redis.call('HSET', P .. 'captions', cid, cjson.encode(c))
  local ev = emit(EVENTS, 'caption', c, 'all')
  return {'ok', cid, ev}
end
local cid = 'c' .. redis.call('INCR', P .. 'captions:seq')
local c = {id = cid, text = text, lang = lang, final = final, by = by, at = now}
redis.call('HSET', P .. 'captions', cid, cjson.encode(c))
redis.call('RPUSH', P .. 'captions:order', cid)
if redis.call('LLEN', P .. 'captions:order') > CAPTIONS_MAX then
  local gone = redis.call('LPOP', P .. 'captions:order')
  redis.call('HDEL', P .. 'captions', gone)
end
local ev = emit(EVENTS, 'caption', c, 'all')
return {'ok', cid, ev}
