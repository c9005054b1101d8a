#pragma once
// A room as an iCalendar file (RFC 5545): one VEVENT a jobseeker adds to
// their calendar from the room page or the my page. No I/O.

#include <cstdint>
#include <string>
#include <string_view>

#include "rooms/model.h"

namespace jobcast::rooms {

// TEXT value escaping (RFC 5545 3.3.11): backslash, semicolon, comma and
// newlines.
std::string icsEscape(std::string_view text);
// Folds one content line to lines of at most 75 octets (RFC 5545 3.1), never
// inside a UTF-8 character; each line ends with CRLF.
std::string icsFold(std::string_view line);
// The VCALENDAR of one room: UID <room>@jobcast, SEQUENCE the room's
// sequence, STATUS CONFIRMED or CANCELLED, DTSTART in UTC, DTEND the planned
// end (one hour when none is stated), SUMMARY the title, LOCATION the region,
// URL `room_url`, DTSTAMP `now` (seconds since the epoch).
std::string roomCalendar(const Room& room, const std::string& room_url, int64_t now);

}  // namespace jobcast::rooms
