-- Prepended to every room script when it is loaded (rooms/events.h): the
-- one place a script appends to a room's event stream.
--
-- Keys: every key of a room starts with the room's prefix "jc:{r:ROOM}:"
-- (built in C++ by rooms/keys.h), so one script touches one cluster slot.
-- Scripts get their keys through KEYS as the caller built them; here only the
-- suffixes are named.
--
-- ARGV[1] of every room script is the stream's bound (XADD MAXLEN ~, from
-- the node's config) and ARGV[2] the command that publishes notifications:
-- PUBLISH on one Redis, SPUBLISH on a Redis Cluster, where the room's notify
-- channel is in the room's slot and the message stays on its shard
-- (rooms/notifications.h). Both are taken off here, so a script's own
-- arguments start at ARGV[1].
-- Scripts answer {'ok', ...} or {'err', code, message}.
local EVENTS_MAXLEN = table.remove(ARGV, 1)
local NOTIFY_COMMAND = table.remove(ARGV, 1) == 'SPUBLISH' and 'SPUBLISH' or 'PUBLISH'
local EVENTS_SUFFIX = 'events'
local NOTIFY_SUFFIX = 'notify'
local OUTBOX_SUFFIX = 'outbox'
local FIGURES_SUFFIX = 'figures'
local FIGURE_VIEWERS_SUFFIX = 'figures:viewers'

-- The room's prefix "jc:{r:ROOM}:" of one of its keys.
local function room_prefix(key)
  return string.match(key, '^(.-}:)')
end

-- The webhook event type of a room event, or nil (docs/webhooks.md). Each
-- application status change is emitted twice (staff and the applicant): only
-- the staff copy counts.
local function webhook_type(kind, data, aud)
  if kind == 'application.created' then return kind end
  if kind == 'room.created' then return 'room.scheduled' end
  if kind == 'room.updated' then return kind end
  if kind == 'application.status' and aud == 'staff' then return 'application.status_changed' end
  if kind == 'room.status' then
    local status = cjson.decode(data).status
    if status == 'live' then return 'room.started' end
    if status == 'ended' then return 'room.ended' end
    if status == 'cancelled' then return 'room.cancelled' end
  end
  return nil
end

-- Events up to this size travel in their notification too.
local NOTICE_INLINE_MAX = 8192

-- Appends one event to the room's stream (`events`: the room's events key,
-- as passed in KEYS) and publishes it on the room's notify channel, in this
-- one script: both happen or neither. `data` is JSON text, or a table
-- encoded here. The notice (rooms/notifications.h) is "ID PREV", PREV the
-- entry before it, and, for an event up to NOTICE_INLINE_MAX, then
-- "\nKIND\nAUD\nDATA": a node whose feed stands at PREV takes the event from
-- the notice and needs no read of the stream.
local function emit(events, kind, data, aud)
  if type(data) == 'table' then data = cjson.encode(data) end
  local last = redis.call('XREVRANGE', events, '+', '-', 'COUNT', 1)
  local prev = (last[1] and last[1][1]) or '0-0'
  local id = redis.call('XADD', events, 'MAXLEN', '~', EVENTS_MAXLEN, '*',
                        'kind', kind, 'data', data, 'aud', aud)
  local prefix = room_prefix(events)
  local notice = id .. ' ' .. prev
  if #data <= NOTICE_INLINE_MAX and not string.find(kind .. aud, '\n', 1, true) then
    notice = notice .. '\n' .. kind .. '\n' .. aud .. '\n' .. data
  end
  redis.call(NOTIFY_COMMAND, prefix .. NOTIFY_SUFFIX, notice)
  -- The room's peak of concurrent viewers, kept after it ends.
  if kind == 'viewers.changed' then
    local count = cjson.decode(data).count or 0
    local peak = tonumber(redis.call('HGET', prefix .. FIGURES_SUFFIX, 'peak_viewers') or '0')
    if count > peak then
      redis.call('HSET', prefix .. FIGURES_SUFFIX, 'peak_viewers', count)
    end
  end
  -- In the same script, so a webhook event exists exactly when the room event does.
  local hook_type = webhook_type(kind, data, aud)
  if hook_type then
    redis.call('XADD', prefix .. OUTBOX_SUFFIX, '*', 'type', hook_type, 'data', data, 'event', id,
               'room', string.match(prefix, '^jc:{r:(.*)}:$'))
  end
  return id
end

-- Queues a webhook event of the room (`prefix`, "jc:{r:ROOM}:") that is no
-- room event (reminder.due): the webhook dispatcher drains the room's outbox.
local function hook(prefix, kind, data)
  if type(data) == 'table' then data = cjson.encode(data) end
  return redis.call('XADD', prefix .. OUTBOX_SUFFIX, '*', 'type', kind, 'data', data, 'event', '',
                    'room', string.match(prefix, '^jc:{r:(.*)}:$'))
end

-- Counts signed-in viewers of the room once each (HyperLogLog), for its figures.
-- `subs` is ARGV from index `first` to `last`; in slices, as unpack has a limit.
local function count_viewers(prefix, subs, first, last)
  for i = first, last, 1000 do
    redis.call('PFADD', prefix .. FIGURE_VIEWERS_SUFFIX, unpack(subs, i, math.min(i + 999, last)))
  end
end

local function fail(code, message)
  return {'err', code, message or ''}
end
