// The start-up check covers every element the node creates: this scans the
// node's sources (media/, server/, signaling/) for element factory names and
// checks each is on media/required_elements.cpp's list.

#include "media/required_elements.h"

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace jobcast::media {
namespace {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> literals(const std::string& text) {
  static const std::regex literal(R"re("((?:[^"\\\n]|\\.)*)")re");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

// The first argument of the call whose "(" is at `open`.
std::string firstArgument(const std::string& text, size_t open) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '(')
      ++depth;
    else if (c == ')' && --depth == 0)
      return text.substr(open + 1, i - open - 1);
    else if (c == ',' && depth == 1)
      return text.substr(open + 1, i - open - 1);
  }
  return {};
}

// Element factory names in one source file, each with where it was found.
void scan(const std::filesystem::path& path, std::map<std::string, std::string>& found) {
  std::string text = readFile(path);
  std::string where = path.filename().string();
  // Elements made one by one: gst_element_factory_make("x"), makeElement("x"),
  // and the pipelines' own add("x") (not metrics.add(...)).
  static const std::regex call(R"((?:gst_element_factory_make|makeElement|(?:^|[^.>\w])add)\s*\()");
  for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it) {
    size_t open = static_cast<size_t>(it->position() + it->length() - 1);
    for (const auto& name : literals(firstArgument(text, open)))
      found.emplace(name, where);
  }
  // Elements that make others by name.
  static const std::regex factory_property(R"re("muxer-factory",\s*"([a-z0-9_-]+)")re");
  for (std::sregex_iterator it(text.begin(), text.end(), factory_property), end; it != end; ++it)
    found.emplace((*it)[1], where);
  // Pipeline descriptions: the element after each "!", and the first element
  // of a description ("videotestsrc is-live=true ...").
  if (text.find("gst_parse_launch") == std::string::npos &&
      text.find("gst_parse_bin_from_description") == std::string::npos) {
    return;
  }
  static const std::regex after_bang(R"(!\s*([a-z][a-z0-9_-]*)(?=\s|!|$))");
  static const std::regex first(R"(^\s*([a-z][a-z0-9_-]*)\s+[a-z][a-z0-9-]*=)");
  for (const auto& lit : literals(text)) {
    for (std::sregex_iterator it(lit.begin(), lit.end(), after_bang), end; it != end; ++it)
      found.emplace((*it)[1], where);
    std::smatch m;
    if (std::regex_search(lit, m, first))
      found.emplace(m[1], where);
  }
}

std::map<std::string, std::string> factoriesInSources() {
  std::map<std::string, std::string> found;
  for (const char* dir : {"media", "server", "signaling"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(
             std::string(JOBCAST_SOURCE_DIR) + "/" + dir)) {
      auto ext = entry.path().extension();
      if (ext == ".cpp" || ext == ".h")
        scan(entry.path(), found);
    }
  }
  return found;
}

TEST(RequiredElements, CoverEveryElementFactoryNamedInTheSources) {
  std::set<std::string> listed;
  for (const auto& e : requiredElements())
    listed.insert(e.factory);
  auto found = factoriesInSources();
  // The scanner sees the kinds of use there are: made one by one, named as a
  // property, in a parsed pipeline description.
  for (const char* known : {"webrtcbin", "hlssink2", "mp4mux", "textoverlay", "videotestsrc"})
    EXPECT_TRUE(found.count(known)) << "the scan no longer finds " << known;
  for (const auto& [name, where] : found)
    EXPECT_TRUE(listed.count(name))
        << name << " (" << where << ") is not in media/required_elements.cpp";
}

TEST(RequiredElements, EveryListedElementIsInstalledHere) {
  auto missing = missingElements();
  EXPECT_TRUE(missing.empty()) << "install: " << describeMissing(missing);
}

}  // namespace
}  // namespace jobcast::media
