-- The reference a report without rollups would need: walk the whole keyspace
-- (SCAN), and for every room hash read its region and count its applications,
-- per league. Run inside Redis (EVAL), the fastest such a scan can be.
local cursor, rooms, apps, by_league = '0', 0, 0, {}
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', 'jc:{r:*}:room', 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local region = redis.call('HGET', key, 'region_code') or ''
    local n = redis.call('HLEN', string.sub(key, 1, -5) .. 'apps')
    local league = string.sub(region, 1, 4)
    by_league[league] = (by_league[league] or 0) + n
    rooms = rooms + 1
    apps = apps + n
  end
until cursor == '0'
return {rooms, apps}
