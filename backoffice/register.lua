-- Stores one webhook endpoint and its sealed signing secret together.
-- KEYS: endpoints, secrets
-- ARGV: endpoint id, endpoint JSON, sealed secret
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return {'ok'}
