-- Puts one dead-lettered delivery back on the deliveries stream with a fresh
-- count of tries.
-- KEYS: dead, deliveries
-- ARGV: dead entry id
-- Answers {'ok', new delivery entry id} or {'err', code, message}.
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then
  return {'err', 'not_found', 'no such dead-lettered delivery'}
end
local f = {}
local fields = found[1][2]
for i = 1, #fields, 2 do
  f[fields[i]] = fields[i + 1]
end
local id = redis.call('XADD', KEYS[2], '*', 'endpoint', f.endpoint, 'type', f.type, 'event',
                      f.event, 'data', f.data, 'attempt', '1', 'created_at', f.created_at)
redis.call('XDEL', KEYS[1], ARGV[1])
return {'ok', id}
