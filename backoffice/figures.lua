-- A room's figures in one read.
-- KEYS: figures:viewers (HyperLogLog), figures (hash), counts (hash)
-- Answers {unique viewers, peak viewers, applications, interviews, completed,
-- declined, no_show, dropped, interview seconds} (the interview counts are
-- kept by rooms/live/call_shared.lua).
local f = redis.call('HMGET', KEYS[2], 'peak_viewers', 'interviews', 'interviews_completed',
                     'interviews_declined', 'interviews_no_show', 'interviews_dropped',
                     'interview_seconds')
local out = {redis.call('PFCOUNT', KEYS[1]), f[1] or '0',
             redis.call('HGET', KEYS[3], 'applications') or '0'}
for i = 2, 7 do out[#out + 1] = f[i] or '0' end
return out
