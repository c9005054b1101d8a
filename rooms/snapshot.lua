-- Reads a room in one consistent step: the room hash, its jobs in order, its
-- counts and the id of the last event, so a reader can resume the stream from
-- exactly this state.
-- KEYS: room, jobs, job_order, counts, events
-- Answers {'ok', room (flat hash), jobs (JSON list), counts (flat hash), last event id}.
local room = redis.call('HGETALL', KEYS[1])
if #room == 0 then
  return fail('room_not_found', 'no such room')
end
local jobs = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  local job = redis.call('HGET', KEYS[2], id)
  if job then
    table.insert(jobs, job)
  end
end
local last = redis.call('XREVRANGE', KEYS[5], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if #last > 0 then
  last_id = last[1][1]
end
return {'ok', room, jobs, redis.call('HGETALL', KEYS[4]), last_id}
