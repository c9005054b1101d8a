-- Prepended to every live-room script (rooms/live/*.lua), after
-- rooms/prelude.lua (emit, fail). KEYS[1] is the room's key prefix
-- (keys::roomPrefix) so the script runs on the room's cluster slot; every key
-- below shares that hash tag. See docs/redis-schema.md for the stream contract.
local P = KEYS[1]
local EVENTS = P .. EVENTS_SUFFIX

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function is_banned(sub)
  return redis.call('SISMEMBER', P .. 'bans', sub) == 1
end

-- Milliseconds left on a mute, or 0.
local function muted_for(sub, now)
  local untilms = tonumber(redis.call('HGET', P .. 'mutes', sub) or '0')
  if untilms > now then
    return untilms - now
  end
  return 0
end

-- The last chat messages a joining client gets in its snapshot (chat:recent).
local CHAT_RECENT_MAX = 50

-- The interview queue: zset member = sub, score = join order. The estimated
-- wait per person ahead is a moving average of the time between queue.next
-- calls (5 minutes until the room has measured one).
local QUEUE_EVENTS_MAX = 200

local function queue_avg_ms()
  return tonumber(redis.call('GET', P .. 'queue:avg_ms') or '300000')
end

local function emit_queue()
  local members = redis.call('ZRANGE', P .. 'queue', 0, -1)
  local avg = queue_avg_ms()
  local n = #members
  emit(EVENTS, 'queue.changed', {length = n}, 'all')
  local entries = {}
  for i, sub in ipairs(members) do
    if i <= QUEUE_EVENTS_MAX then
      entries[#entries + 1] = {sub = sub, name = redis.call('HGET', P .. 'queue:names', sub) or '',
                               position = i}
      emit(EVENTS, 'queue.position', {position = i, length = n,
                              eta_s = math.floor((i - 1) * avg / 1000)}, 'user:' .. sub)
    end
  end
  if n == 0 then
    emit(EVENTS, 'queue.list', '{"length":0,"entries":[]}', 'staff')
  else
    emit(EVENTS, 'queue.list', {length = n, entries = entries}, 'staff')
  end
end

-- Removes sub from the queue; true when it was there.
local function queue_remove(sub, reason)
  local removed = redis.call('ZREM', P .. 'queue', sub)
  redis.call('HDEL', P .. 'queue:names', sub)
  redis.call('ZREM', P .. 'queue:seen', sub)
  if removed == 1 then
    emit(EVENTS, 'queue.left', {reason = reason}, 'user:' .. sub)
    return true
  end
  return false
end


-- A write a client may retry carries a client-chosen id; KEYS[2], when given,
-- is its key (keys::dedup: the room's prefix, then "dedup:SUB:CLIENT_ID"). dedup_seen() returns the first
-- answer to the same request, to be returned as it is with nothing written
-- again; dedup_keep(answer) stores a successful answer (10 minutes) and
-- returns it.
local DEDUP_TTL_S = 600

local function dedup_seen()
  if not KEYS[2] then return nil end
  local seen = redis.call('GET', KEYS[2])
  if seen then return cjson.decode(seen) end
  return nil
end

local function dedup_keep(answer)
  if KEYS[2] then
    redis.call('SET', KEYS[2], cjson.encode(answer), 'EX', DEDUP_TTL_S, 'NX')
  end
  return answer
end
