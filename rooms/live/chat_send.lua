-- chat.send. ARGV: sub, name, role, staff (1/0), text (already masked),
-- rate_count, rate_window_ms. Keys: bans, mutes, slowmode, slow:SUB, rate:SUB,
-- msg:ID (hash: the message, 24 h), chat:recent (list of the last ids).
local seen = dedup_seen()
if seen then return seen end
local sub, name, role, staff, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1', ARGV[5]
local rate_count, rate_window = tonumber(ARGV[6]), tonumber(ARGV[7])
local now = now_ms()
if is_banned(sub) then return fail('banned') end
local left = muted_for(sub, now)
if left > 0 then return fail('muted', tostring(math.ceil(left / 1000))) end
if not staff then
  local slow = tonumber(redis.call('GET', P .. 'slowmode') or '0')
  if slow > 0 then
    if not redis.call('SET', P .. 'slow:' .. sub, '1', 'PX', slow * 1000, 'NX') then
      local ttl = redis.call('PTTL', P .. 'slow:' .. sub)
      return fail('slow_mode', tostring(math.ceil(ttl / 1000)))
    end
  end
  local count = redis.call('INCR', P .. 'rate:' .. sub)
  if count == 1 then redis.call('PEXPIRE', P .. 'rate:' .. sub, rate_window) end
  if count > rate_count then
    return fail('rate_limited', tostring(math.ceil(redis.call('PTTL', P .. 'rate:' .. sub) / 1000)))
  end
end
local id = 'm' .. redis.call('INCR', P .. 'seq')
local msg = {id = id, from = sub, name = name, role = role, text = text, at = now}
redis.call('HSET', P .. 'msg:' .. id, 'id', id, 'from', sub, 'name', name, 'role', role,
           'text', text, 'at', now)
redis.call('EXPIRE', P .. 'msg:' .. id, 86400)
redis.call('RPUSH', P .. 'chat:recent', id)
redis.call('LTRIM', P .. 'chat:recent', -CHAT_RECENT_MAX, -1)
local ev = emit(EVENTS, 'chat.message', msg, 'all')
return dedup_keep({'ok', id, ev})
