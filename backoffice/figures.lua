-- A room's figures in one read.
-- KEYS: figures:viewers (HyperLogLog), figures (hash), counts (hash)
-- Answers {unique viewers, peak viewers, applications}.
return {redis.call('PFCOUNT', KEYS[1]), redis.call('HGET', KEYS[2], 'peak_viewers') or '0',
        redis.call('HGET', KEYS[3], 'applications') or '0'}
