#pragma once
// The region tree the service reports by: the province (Inner Mongolia,
// 150000), its leagues and cities (150100 Hohhot ... 152900 Alxa League) and
// their banners, counties and districts (150203 ...), with administrative
// division codes (GB/T 2260) and names in Chinese, Mongolian and English.
// Codes arrive as 2, 4 or 6 digits ("15", "1502", "150200" name the same
// league); reports key them by the 6-digit form. A code below a known
// league that the table does not name is still a region: it reports under
// its code.

#include <string>
#include <vector>

namespace jobcast::rooms {

struct Region {
  std::string code;    // 6 digits; "" for the whole service
  std::string parent;  // 6 digits; "" for the province and the whole service
  std::string zh;
  std::string mn;  // traditional script; "" where the table has none (pages show zh)
  std::string en;
  int level = 0;  // 0 the whole service, 1 province, 2 league/city, 3 banner/county
};

// The 6-digit form of a 2, 4 or 6 digit code ("1502" -> "150200"); "" for "".
std::string canonicalRegion(const std::string& code);
// The region of a canonical code, from the table or (for codes it does not
// name) with the code as its name; the whole service for "".
Region regionOf(const std::string& code);
// True for "" and for codes in a province and league/city the table names
// ("150299" is known: a county of Baotou; "159900" and "110000" are not).
bool knownRegion(const std::string& code);
// The regions a room's figures count in, from the whole service ("") down to
// the code itself: "150203" -> "", "150000", "150200", "150203".
std::vector<std::string> regionLevels(const std::string& code);
// The regions the table names directly below `code` ("" -> the province).
std::vector<Region> regionChildren(const std::string& code);

}  // namespace jobcast::rooms
