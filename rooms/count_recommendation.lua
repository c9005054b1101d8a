-- One job recommended to one person, counted for the quarterly report in one
-- region (the caller runs it once per region level: each region is its own
-- slot). Recommendations to the same person all count; the person counts once
-- per quarter and once more when their year reaches 3 (the plan's minimum).
-- KEYS: report counts (quarter), report recommended (quarter), report recommended (year)
-- ARGV: user id, how many recommendations
local n = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'recommendations', n)
redis.call('HINCRBY', KEYS[2], ARGV[1], n)
local year = redis.call('HINCRBY', KEYS[3], ARGV[1], n)
if year >= 3 and year - n < 3 then
  redis.call('HINCRBY', KEYS[1], 'people_3plus', 1)
end
return 1
