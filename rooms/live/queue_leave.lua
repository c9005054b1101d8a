-- queue.leave (jobseeker). ARGV: sub.
local sub = ARGV[1]
if not queue_remove(sub, 'left') then return fail('not_queued') end
emit_queue()
return {'ok', sub, ''}
