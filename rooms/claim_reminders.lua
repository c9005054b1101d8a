-- Takes the rooms whose reminders are due, for this node: each taken room's
-- score moves ahead by a lease, so no other node takes it meanwhile; the
-- node removes it once rooms/remind.lua ran. A node that dies before that
-- leaves the room to be taken again after the lease (remind.lua's mark keeps
-- the reminders from going out twice).
-- KEYS: reminder queue
-- ARGV: now, lease (s), at most this many
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, room in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), room)
end
return due
