-- Prelude of every room script (prepended when loaded): appends one event to the
-- room's stream and wakes the nodes, per docs/redis-schema.md.
-- Scripts answer {'ok', ...} or {'err', code, message}.
local function emit(stream, notify, maxlen, kind, data, aud)
  local id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
                        'kind', kind, 'data', data, 'aud', aud)
  redis.call('PUBLISH', notify, id)
  return id
end
local function fail(code, message)
  return {'err', code, message}
end
