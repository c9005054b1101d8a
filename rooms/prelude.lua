-- Prepended to every room script when it is loaded (rooms/events.h): the
-- one place a script appends to a room's event stream.
--
-- Keys: every key of a room starts with the room's prefix "jc:{r:ROOM}:"
-- (built in C++ by rooms/keys.h), so one script touches one cluster slot.
-- Scripts get their keys through KEYS as the caller built them; here only the
-- suffixes are named.
--
-- ARGV[1] of every room script is the stream's bound (XADD MAXLEN ~, from
-- the node's config); it is taken off here, so a script's own arguments
-- start at ARGV[1].
-- Scripts answer {'ok', ...} or {'err', code, message}.
local EVENTS_MAXLEN = table.remove(ARGV, 1)
local EVENTS_SUFFIX = 'events'
local NOTIFY_SUFFIX = 'notify'

-- The room's prefix "jc:{r:ROOM}:" of one of its keys.
local function room_prefix(key)
  return string.match(key, '^(.-}:)')
end

-- Appends one event to the room's stream (`events`: the room's events key,
-- as passed in KEYS) and publishes its entry id on the room's notify channel,
-- in this one script: both happen or neither. `data` is JSON text, or a table
-- encoded here.
local function emit(events, kind, data, aud)
  if type(data) == 'table' then data = cjson.encode(data) end
  local id = redis.call('XADD', events, 'MAXLEN', '~', EVENTS_MAXLEN, '*',
                        'kind', kind, 'data', data, 'aud', aud)
  redis.call('PUBLISH', room_prefix(events) .. NOTIFY_SUFFIX, id)
  return id
end

local function fail(code, message)
  return {'err', code, message or ''}
end
