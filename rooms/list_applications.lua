-- A page of a room's applications, oldest first.
-- KEYS: app_order, apps
-- ARGV: offset, count
-- Answers {'ok', total, application JSON...}.
local total = redis.call('LLEN', KEYS[1])
local out = {'ok', total}
local offset = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
if count > 0 then
  for _, id in ipairs(redis.call('LRANGE', KEYS[1], offset, offset + count - 1)) do
    local app = redis.call('HGET', KEYS[2], id)
    if app then
      table.insert(out, app)
    end
  end
end
return out
