#include "rooms/calendar.h"

#include <algorithm>
#include <ctime>

namespace jobcast::rooms {
namespace {

std::string utc(int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm);
  return out;
}

}  // namespace

std::string icsEscape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' || c == ';' || c == ',') {
      out += '\\';
      out += c;
    } else if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n')
        ++i;
      out += "\\n";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      continue;  // other control characters are not allowed in TEXT
    } else {
      out += c;
    }
  }
  return out;
}

std::string icsFold(std::string_view line) {
  std::string out;
  size_t width = 0;  // octets on the current physical line
  for (size_t i = 0; i < line.size();) {
    size_t len = 1;
    auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0xF0)
      len = 4;
    else if (c >= 0xE0)
      len = 3;
    else if (c >= 0xC0)
      len = 2;
    len = std::min(len, line.size() - i);
    if (width + len > 75) {
      out += "\r\n ";
      width = 1;  // the space that marks the continuation
    }
    out.append(line.substr(i, len));
    width += len;
    i += len;
  }
  out += "\r\n";
  return out;
}

std::string roomCalendar(const Room& room, const std::string& room_url, int64_t now) {
  std::string out;
  auto line = [&out](std::string_view text) { out += icsFold(text); };
  line("BEGIN:VCALENDAR");
  line("VERSION:2.0");
  line("PRODID:-//Jobcast//Live recruitment//EN");
  line("CALSCALE:GREGORIAN");
  line("METHOD:PUBLISH");
  line("BEGIN:VEVENT");
  line("UID:" + room.id + "@jobcast");
  line("DTSTAMP:" + utc(now));
  // Every edit, reschedule and cancellation bumps the room's sequence, so a
  // calendar that imported the event before takes the new one (RFC 5545 3.8.7.4).
  line("SEQUENCE:" + std::to_string(room.sequence));
  line(room.status == RoomStatus::Cancelled ? "STATUS:CANCELLED" : "STATUS:CONFIRMED");
  line("DTSTART:" + utc(room.scheduled_at));
  if (room.ends_at > room.scheduled_at)
    line("DTEND:" + utc(room.ends_at));
  else
    line("DURATION:PT1H");
  line("SUMMARY:" + icsEscape(room.title));
  if (!room.region_name.empty())
    line("LOCATION:" + icsEscape(room.region_name));
  std::string description =
      room.description.empty() ? room_url : room.description + "\n" + room_url;
  if (room.status == RoomStatus::Cancelled)
    description = "Cancelled: " + room.cancel_reason + "\n" + description;
  line("DESCRIPTION:" + icsEscape(description));
  line("URL:" + room_url);                     // a URI value: not escaped
  if (room.status != RoomStatus::Cancelled) {  // no alarm for what will not happen
    line("BEGIN:VALARM");
    line("ACTION:DISPLAY");
    line("DESCRIPTION:" + icsEscape(room.title));
    line("TRIGGER:-PT15M");
    line("END:VALARM");
  }
  line("END:VEVENT");
  line("END:VCALENDAR");
  return out;
}

}  // namespace jobcast::rooms
