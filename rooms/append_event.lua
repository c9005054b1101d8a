-- Appends one event to a room's stream and publishes it (prelude emit), for
-- events that change no other room key, such as media.stage from the media.
-- KEYS[1] the room's events (keys::events)
-- ARGV: kind, data (JSON), audience
return emit(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
