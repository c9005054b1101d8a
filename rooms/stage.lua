-- Who is on a room's stage: one atomic change plus its stage.changed event.
-- The stage's layout is worked out here and nowhere else: it is stored with
-- the stage and carried by the event (rooms/stage.h reads it).
-- KEYS[1] the room's hash    (keys::room: status, employer_id)
-- KEYS[2] the room's stage   (keys::stage: string, the stage as JSON)
-- KEYS[3] the room's events  (keys::events: stream)
-- ARGV[1] op: "put" or "remove"
-- ARGV[2] slot for put: "main", "guest" or "interpreter"
-- ARGV[3] sub of the person put on or taken off the stage
-- ARGV[4] display name (put), shown as a caption
-- ARGV[5] actor sub, for the event
-- Returns {event id, stage JSON} or an error reply "CODE message".

local MAX_GUESTS = 2

local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return redis.error_reply('room_not_found no such room')
end
if status == 'ended' then
  return redis.error_reply('room_ended the room has ended')
end
-- Who may change the stage was decided before (rooms/access.h) from the
-- room's lists, which do not change after the room is created.

local stage = {version = 0, guests = {}}
local stored = redis.call('GET', KEYS[2])
if stored then
  stage = cjson.decode(stored)
  if type(stage.main) ~= 'table' then stage.main = nil end
  if type(stage.interpreter) ~= 'table' then stage.interpreter = nil end
  if type(stage.guests) ~= 'table' then stage.guests = {} end
end

local sub = ARGV[3]
-- Takes `sub` off every slot; true if it was on one.
local function take_off()
  local found = false
  if stage.main and stage.main.sub == sub then stage.main = nil; found = true end
  if stage.interpreter and stage.interpreter.sub == sub then stage.interpreter = nil; found = true end
  local kept = {}
  for _, g in ipairs(stage.guests) do
    if g.sub == sub then found = true else table.insert(kept, g) end
  end
  stage.guests = kept
  return found
end

local op = ARGV[1]
if op == 'put' then
  local slot = ARGV[2]
  local member = {sub = sub, name = ARGV[4]}
  if slot == 'guest' then
    local already = false
    for _, g in ipairs(stage.guests) do
      if g.sub == sub then already = true end
    end
    if not already and #stage.guests >= MAX_GUESTS then
      return redis.error_reply('stage_full the stage has two guests already')
    end
    take_off()
    table.insert(stage.guests, member)
  elseif slot == 'main' then
    take_off()
    stage.main = member
  elseif slot == 'interpreter' then
    take_off()
    stage.interpreter = member
  else
    return redis.error_reply('invalid_field slot: unknown stage slot')
  end
elseif op == 'remove' then
  if not take_off() then
    return redis.error_reply('not_on_stage this person is not on the stage')
  end
else
  return redis.error_reply('invalid_field op: unknown operation')
end

stage.version = (tonumber(stage.version) or 0) + 1

-- cjson writes an empty table as {}, so the guest list is written by hand.
local function member_json(m)
  if not m then return 'null' end
  return cjson.encode({sub = m.sub, name = m.name})
end
local guests = {}
for _, g in ipairs(stage.guests) do table.insert(guests, member_json(g)) end
local layout = 'empty'
if #stage.guests > 0 then
  layout = 'composite'
elseif stage.main then
  layout = 'passthrough'
end
local body = '{"version":' .. stage.version ..
  ',"main":' .. member_json(stage.main) ..
  ',"guests":[' .. table.concat(guests, ',') .. ']' ..
  ',"interpreter":' .. member_json(stage.interpreter) ..
  ',"layout":"' .. layout .. '"'
redis.call('SET', KEYS[2], body .. '}')
local data = body .. ',"by":' .. cjson.encode(ARGV[5]) .. '}'
local id = emit(KEYS[3], 'stage.changed', data, 'all')
return {id, body .. '}'}
