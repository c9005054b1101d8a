-- A node's heartbeat for the room's calls (after presence.lua). ARGV:
-- grace_ms, ring_ms, then the subjects connected on this node.
local grace, ring = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('ZCARD', CALLS) == 0 then return {'ok', '0', ''} end
local here = {}
for i = 3, #ARGV do here[ARGV[i]] = true end
call_sweep(here, now_ms(), grace, ring)
return {'ok', tostring(redis.call('ZCARD', CALLS)), ''}
