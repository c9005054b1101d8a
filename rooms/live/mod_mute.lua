-- mod.mute (staff). ARGV: target sub, seconds (0 lifts the mute).
-- Keys: mutes (hash sub -> mute end, ms since the epoch).
local target, seconds = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
if seconds == 0 then
  redis.call('HDEL', P .. 'mutes', target)
else
  redis.call('HSET', P .. 'mutes', target, now + seconds * 1000)
end
local ev = emit(EVENTS, 'user.muted', {sub = target, seconds = seconds, ['until'] = now + seconds * 1000},
                'all')
return {'ok', target, ev}
