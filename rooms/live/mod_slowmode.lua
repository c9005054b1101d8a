-- mod.slowmode (staff). ARGV: seconds between messages per user (0 = off).
local seconds = tonumber(ARGV[1])
if seconds == 0 then
  redis.call('DEL', P .. 'slowmode')
else
  redis.call('SET', P .. 'slowmode', seconds)
end
local ev = emit(EVENTS, 'slowmode.changed', {seconds = seconds}, 'all')
return {'ok', tostring(seconds), ev}
