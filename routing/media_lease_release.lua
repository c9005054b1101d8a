-- Gives a room's media lease up, only if this node still holds it: a lease
-- that expired and was taken by another node meanwhile stays theirs.
-- KEYS[1] keys::mediaNode(ROOM) (rooms/keys.h)
-- ARGV[1] this node's lease value
-- Returns 1 when the lease was ours and is gone, 0 otherwise.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
