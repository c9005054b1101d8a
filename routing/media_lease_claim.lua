-- A room's media lease: which node carries the room's media (WHIP publisher,
-- HLS, WHEP viewers). Takes the lease when it is free, extends it when it is
-- already this node's, and leaves another node's lease alone.
-- KEYS[1] keys::mediaNode(ROOM)  string: the holder, {"node":ID,"url":PUBLIC_URL}
-- ARGV[1] this node's lease value (the exact string it writes)
-- ARGV[2] time to live in milliseconds
-- ARGV[3] this node's public URL: a lease naming the same URL under another
--         node id was left by this node's previous run, and is taken back
-- Returns {1, value, 1} when taken now, {1, value, 0} when extended (ours
-- already), {0, holder's value, 0} when another node holds it.

local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, ARGV[1], 1}
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, current, 0}
end
local ok, held = pcall(cjson.decode, current)
if ok and type(held) == 'table' and held.url == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, ARGV[1], 1}
end
return {0, current, 0}
