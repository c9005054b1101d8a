-- mod.kick (staff): the user's connections are closed (4409); unlike a ban,
-- they may join again at once. ARGV: target sub.
local target = ARGV[1]
local ev = emit(EVENTS, 'user.kicked', {sub = target}, 'all')
return {'ok', target, ev}
