-- queue.leave (jobseeker). ARGV: sub.
local seen = dedup_seen()
if seen then return seen end
local sub = ARGV[1]
if not queue_remove(sub, 'left') then return fail('not_queued') end
emit_queue()
return dedup_keep({'ok', sub, ''})
