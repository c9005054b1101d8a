-- The room's one-to-one interview calls, prepended to every live-room script
-- after event.lua. queue.next opens a call between the employer who took the
-- jobseeker and that jobseeker; call.join, call.signal and the presence sweep
-- (call_sweep.lua) move it on; call_finish records it. Keys (rooms/keys.h):
-- call:ID (hash), calls (zset of open calls), calls:by_sub (hash sub -> open
-- call). CALL_MOVES_FROM, the application statuses a held call moves to
-- 'interview', is put in front of this file by rooms/live/live_room.cpp from
-- rooms/model.cpp.
local CALL_PREFIX = P .. 'call:'
local CALLS = P .. 'calls'
local CALLS_BY_SUB = P .. 'calls:by_sub'
local CALL_KEEP_S = 7 * 24 * 3600  -- an ended call's hash, for late readers
local CALL_ROLES = {'employer', 'jobseeker'}

local function call_read(id)
  local flat = redis.call('HGETALL', CALL_PREFIX .. id)
  if #flat == 0 then return nil end
  local c = {}
  for i = 1, #flat, 2 do c[flat[i]] = flat[i + 1] end
  return c
end

local function call_num(c, field)
  return tonumber(c[field] or '0') or 0
end

local function call_open(id, esub, ename, jsub, jname, now)
  redis.call('HSET', CALL_PREFIX .. id, 'id', id, 'employer', esub, 'employer_name', ename,
             'jobseeker', jsub, 'jobseeker_name', jname, 'offered_at', now,
             'seen_employer', now, 'seen_jobseeker', now)
  redis.call('ZADD', CALLS, now, id)
  redis.call('HSET', CALLS_BY_SUB, esub, id, jsub, id)
end

-- 'employer' or 'jobseeker' for a party of the call, nil for anyone else.
local function call_role(c, sub)
  if c.employer == sub then return 'employer' end
  if c.jobseeker == sub then return 'jobseeker' end
  return nil
end

local function call_other(role)
  if role == 'employer' then return 'jobseeker' end
  return 'employer'
end

local function call_state(c)
  if c.ended_at then return 'ended' end
  if c.started_at then return 'started' end
  return 'offered'
end

-- The call as one of its parties sees it (the call.join ack, call.state events).
local function call_view(c, role)
  local other = call_other(role)
  local v = {call_id = c.id, role = role, state = call_state(c),
             peer = {sub = c[other], name = c[other .. '_name'] or ''},
             peer_joined = c[other .. '_joined'] ~= nil,
             offered_at = call_num(c, 'offered_at'), started_at = call_num(c, 'started_at')}
  if c.ended_at then
    v.ended_at = call_num(c, 'ended_at')
    v.outcome = c.outcome
    v.duration_s = call_num(c, 'duration_s')
  end
  return v
end

-- Tells both parties (their own connections only) where the call stands.
local function call_tell(c, joined)
  for _, role in ipairs(CALL_ROLES) do
    local v = call_view(c, role)
    if joined then v.joined = joined end
    emit(EVENTS, 'call.state', v, 'user:' .. c[role])
  end
end

-- Ends an open call with `outcome` (completed, declined, no_show, dropped):
-- the room's figures count it, and every application the jobseeker made in
-- this room gets an 'interview' history entry; a call that was held
-- (completed or dropped) moves them to the interview step.
local function call_finish(c, outcome, now)
  local started = call_num(c, 'started_at')
  local duration = 0
  if started > 0 then duration = math.floor((now - started) / 1000) end
  c.ended_at, c.outcome, c.duration_s = tostring(now), outcome, tostring(duration)
  local key = CALL_PREFIX .. c.id
  redis.call('HSET', key, 'ended_at', now, 'outcome', outcome, 'duration_s', duration)
  redis.call('EXPIRE', key, CALL_KEEP_S)
  redis.call('ZREM', CALLS, c.id)
  for _, role in ipairs(CALL_ROLES) do
    if redis.call('HGET', CALLS_BY_SUB, c[role]) == c.id then
      redis.call('HDEL', CALLS_BY_SUB, c[role])
    end
  end
  local figures = P .. FIGURES_SUFFIX
  redis.call('HINCRBY', figures, 'interviews', 1)
  redis.call('HINCRBY', figures, 'interviews_' .. outcome, 1)
  redis.call('HINCRBY', figures, 'interview_seconds', duration)
  local record = {call_id = c.id, outcome = outcome, started_at = started, ended_at = now,
                  duration_s = duration}
  local held = outcome == 'completed' or outcome == 'dropped'
  for _, job in ipairs(redis.call('LRANGE', P .. 'job_order', 0, -1)) do
    local app_id = redis.call('HGET', P .. 'app_by_user', c.jobseeker .. '|' .. job)
    local text = app_id and redis.call('HGET', P .. 'apps', app_id)
    if text then
      local app = cjson.decode(text)
      local moved = held and CALL_MOVES_FROM[app.status] == true
      if moved then app.status = 'interview' end
      table.insert(app.history, {status = app.status, at = now, by = c.employer,
                                 interview = record})
      redis.call('HSET', P .. 'apps', app_id, cjson.encode(app))
      if moved then
        local data = cjson.encode({id = app.id, job_id = app.job_id, status = app.status,
                                   at = now, by = c.employer})
        emit(EVENTS, 'application.status', data, 'staff')
        emit(EVENTS, 'application.status', data, 'user:' .. app.applicant)
      end
    end
  end
  call_tell(c, nil)
end

-- Called with each presence heartbeat: parties connected on the reporting
-- node (`here`: set of subs) are seen now; an offer nobody took up within
-- ring_ms ends as no_show, a started call whose party has been gone longer
-- than grace_ms (the queue's grace) ends as dropped.
local function call_sweep(here, now, grace_ms, ring_ms)
  for _, id in ipairs(redis.call('ZRANGE', CALLS, 0, -1)) do
    local c = call_read(id)
    if not c then
      redis.call('ZREM', CALLS, id)
    else
      for _, role in ipairs(CALL_ROLES) do
        if here[c[role]] then
          redis.call('HSET', CALL_PREFIX .. id, 'seen_' .. role, now)
          c['seen_' .. role] = tostring(now)
        end
      end
      if not c.started_at then
        if now - call_num(c, 'offered_at') > ring_ms then call_finish(c, 'no_show', now) end
      elseif now - call_num(c, 'seen_employer') > grace_ms or
             now - call_num(c, 'seen_jobseeker') > grace_ms then
        call_finish(c, 'dropped', now)
      end
    end
  end
end
