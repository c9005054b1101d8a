// Domain rules without I/O: validation names the field, state machines refuse
// illegal moves, region codes nest.

#include "rooms/model.h"
#include "rooms/notifications.h"

#include <gtest/gtest.h>

namespace jobcast::rooms {
namespace {

using nlohmann::json;

json goodJob() {
  return {{"title", "Welder"},
          {"wage_min", 5000},
          {"wage_max", 8000},
          {"wage_unit", "month"},
          {"hours", "8h x 5"},
          {"location", "Baotou"},
          {"housing", "dormitory"},
          {"headcount", 3},
          {"description", "MIG welding"},
          {"contract_template_url", "https://example.org/contract.pdf"}};
}

std::string fieldFor(const json& body) {
  auto card = JobCard::fromJson(body);
  return card.ok() ? "" : fieldOf(card.error());
}

// The notice a room script publishes (rooms/prelude.lua emit).
TEST(Notice, CarriesTheIdThePreviousIdAndASmallEvent) {
  Notice bare = Notice::parse("1700000000000-3");
  EXPECT_EQ(bare.id, "1700000000000-3");
  EXPECT_EQ(bare.prev, "");
  EXPECT_FALSE(bare.has_entry);

  Notice announced = Notice::parse("1700000000000-3 1700000000000-2");
  EXPECT_EQ(announced.id, "1700000000000-3");
  EXPECT_EQ(announced.prev, "1700000000000-2");
  EXPECT_FALSE(announced.has_entry);

  // The data is the rest, newlines and all.
  Notice full = Notice::parse("5-0 0-0\nchat.message\nuser:js-1\n{\"text\":\"a\nb\"}");
  EXPECT_EQ(full.id, "5-0");
  EXPECT_EQ(full.prev, "0-0");
  ASSERT_TRUE(full.has_entry);
  EXPECT_EQ(full.kind, "chat.message");
  EXPECT_EQ(full.aud, "user:js-1");
  EXPECT_EQ(full.data, "{\"text\":\"a\nb\"}");

  // Cut short, or an entry without the id before it: announced only.
  EXPECT_FALSE(Notice::parse("5-0 4-0\nchat.message\nall").has_entry);
  EXPECT_FALSE(Notice::parse("5-0\nchat.message\nall\n{}").has_entry);
  EXPECT_FALSE(Notice::parse("").has_entry);
}

TEST(JobCard, AcceptsAValidCard) {
  auto card = JobCard::fromJson(goodJob());
  ASSERT_TRUE(card.ok()) << card.error().message;
  EXPECT_EQ(card->title, "Welder");
  EXPECT_EQ(card->wage_unit, WageUnit::Month);
  auto stored = JobCard::fromStored(card->toJson().dump());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->toJson(), card->toJson());
}

TEST(JobCard, NamesTheBadField) {
  auto j = goodJob();
  j["wage_min"] = 9000;
  EXPECT_EQ(fieldFor(j), "wage_min");
  EXPECT_NE(JobCard::fromJson(j).error().message.find("wage_max"), std::string::npos);
  j = goodJob();
  j.erase("title");
  EXPECT_EQ(fieldFor(j), "title");
  j = goodJob();
  j["title"] = "   ";
  EXPECT_EQ(fieldFor(j), "title");
  j = goodJob();
  j["title"] = std::string(101, 'x');
  EXPECT_EQ(fieldFor(j), "title");
  j = goodJob();
  j = goodJob();
  j["wage_max"] = "8000";
  EXPECT_EQ(fieldFor(j), "wage_max");
  j = goodJob();
  j["wage_unit"] = "week";
  EXPECT_EQ(fieldFor(j), "wage_unit");
  j = goodJob();
  j["headcount"] = 0;
  EXPECT_EQ(fieldFor(j), "headcount");
  j = goodJob();
  j["contract_template_url"] = "javascript:alert(1)";
  EXPECT_EQ(fieldFor(j), "contract_template_url");
  j = goodJob();
  j["contract_template_url"] = "//evil.example/contract.pdf";
  EXPECT_EQ(fieldFor(j), "contract_template_url");
  j = goodJob();
  j["contract_template_url"] = "/docs/contract.pdf";
  EXPECT_EQ(fieldFor(j), "");
  j = goodJob();
  j["location"] = nullptr;
  EXPECT_EQ(fieldFor(j), "location");
}

TEST(JobCard, CountsCharactersNotBytes) {
  auto j = goodJob();
  std::string hundred_chinese;
  for (int i = 0; i < 100; ++i)
    hundred_chinese += "焊";
  j["title"] = hundred_chinese;
  EXPECT_TRUE(JobCard::fromJson(j).ok());
  j["title"] = hundred_chinese + "工";
  EXPECT_EQ(fieldFor(j), "title");
}

TEST(Links, OnlyHttpUrlsAndSitePaths) {
  for (const char* ok : {"https://example.org/a.pdf", "http://example.org", "/docs/contract.pdf",
                         "/", "https://example.org/?q=1#x"}) {
    EXPECT_TRUE(isSafeLink(ok)) << ok;
  }
  for (const char* bad :
       {"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "//evil.example/x",
        "/\\evil.example", "https:///evil", "https://", "http:evil.example", "ftp://example.org",
        "vbscript:x", " https://a.b", "https://a.b/\n", "relative/path", "https://a.b/ x", ""}) {
    EXPECT_FALSE(isSafeLink(bad)) << bad;
  }
}

TEST(RoomStatus, OnlyScheduledLiveEnded) {
  EXPECT_TRUE(canTransition(RoomStatus::Scheduled, RoomStatus::Live));
  EXPECT_TRUE(canTransition(RoomStatus::Live, RoomStatus::Ended));
  EXPECT_FALSE(canTransition(RoomStatus::Scheduled, RoomStatus::Ended));
  EXPECT_FALSE(canTransition(RoomStatus::Ended, RoomStatus::Live));
  EXPECT_FALSE(canTransition(RoomStatus::Live, RoomStatus::Scheduled));
  EXPECT_FALSE(canTransition(RoomStatus::Live, RoomStatus::Live));
  // Only a room that never started is cancelled, and it stays so.
  EXPECT_TRUE(canTransition(RoomStatus::Scheduled, RoomStatus::Cancelled));
  EXPECT_FALSE(canTransition(RoomStatus::Live, RoomStatus::Cancelled));
  EXPECT_FALSE(canTransition(RoomStatus::Cancelled, RoomStatus::Live));
  EXPECT_FALSE(canTransition(RoomStatus::Cancelled, RoomStatus::Scheduled));
  EXPECT_EQ(parseRoomStatus("cancelled"), RoomStatus::Cancelled);
}

TEST(RoomEdit, ChecksTimesAndRegionsAgainstTheRoom) {
  Room room;
  room.title = "Fair";
  room.scheduled_at = 2000;
  room.ends_at = 5600;
  auto edit = [](nlohmann::json body) { return RoomEdit::fromJson(body); };
  EXPECT_EQ(fieldOf(edit(nlohmann::json::object()).error()), "body");
  EXPECT_EQ(fieldOf(edit({{"region_code", "159900"}}).error()), "region_code");
  EXPECT_EQ(fieldOf(edit({{"region_code", "440600"}}).error()), "region_code");
  ASSERT_TRUE(
      edit({{"region_code", "150299"}}).ok());  // a county of Baotou the table does not name
  EXPECT_EQ(edit({{"region_code", "150200"}}).value().region_name, "Baotou");
  // A new start must not be in the past; the stated end must come after the start.
  EXPECT_EQ(fieldOf(edit({{"scheduled_at", 999}}).value().applyTo(room, 1000).error()),
            "scheduled_at");
  EXPECT_EQ(fieldOf(edit({{"scheduled_at", 6000}}).value().applyTo(room, 1000).error()), "ends_at");
  auto moved = edit({{"scheduled_at", 6000}, {"ends_at", 0}}).value().applyTo(room, 1000);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->scheduled_at, 6000);
  EXPECT_EQ(moved->ends_at, 0);
  // An unchanged start in the past is no reschedule: other fields still change.
  auto renamed = edit({{"title", "Autumn"}}).value().applyTo(room, 3000);
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(renamed->title, "Autumn");
}

TEST(ApplicationStatus, PipelineStepsAndRejection) {
  using S = ApplicationStatus;
  EXPECT_TRUE(canTransition(S::Applied, S::Viewed));
  EXPECT_TRUE(canTransition(S::Viewed, S::Contacted));
  EXPECT_TRUE(canTransition(S::Contacted, S::Interview));
  EXPECT_TRUE(canTransition(S::Interview, S::Hired));
  EXPECT_TRUE(canTransition(S::Contacted, S::Rejected));
  EXPECT_FALSE(canTransition(S::Applied, S::Hired));
  EXPECT_FALSE(canTransition(S::Hired, S::Rejected));
  EXPECT_FALSE(canTransition(S::Rejected, S::Applied));
  EXPECT_EQ(predecessorsOf(S::Hired), std::vector<S>{S::Interview});
  EXPECT_EQ(predecessorsOf(S::Rejected).size(), 4u);
  EXPECT_TRUE(predecessorsOf(S::Applied).empty());
}

TEST(Profile, KeyGroupNeedsItsOwnConsent) {
  json p = {{"name", "Bao"}, {"phone", "+86 138 0013 8000"}, {"key_group", "veteran"}};
  auto refused = Profile::fromJson(p);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(fieldOf(refused.error()), "key_group_consent");
  p["key_group_consent"] = true;
  auto accepted = Profile::fromJson(p);
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->key_group, KeyGroup::Veteran);
  p["key_group"] = "astronaut";
  EXPECT_EQ(fieldOf(Profile::fromJson(p).error()), "key_group");
  EXPECT_EQ(fieldOf(Profile::fromJson({{"name", "A"}, {"phone", "12ab"}}).error()), "phone");
  EXPECT_EQ(fieldOf(Profile::fromJson({{"phone", "13800138000"}}).error()), "name");
}

TEST(RoomDraft, ValidatesRegionAndSchedule) {
  json r = {{"title", "Spring fair"}, {"region_code", "150200"}, {"scheduled_at", 1767225600}};
  auto draft = RoomDraft::fromJson(r);
  ASSERT_TRUE(draft.ok());
  EXPECT_EQ(draft->region_name, "Baotou");
  r["region_code"] = "15a";
  EXPECT_EQ(fieldOf(RoomDraft::fromJson(r).error()), "region_code");
  r["region_code"] = "152502";
  r["region_name"] = "Xilinhot";
  EXPECT_EQ(RoomDraft::fromJson(r)->region_name, "Xilinhot");
  r.erase("scheduled_at");
  EXPECT_EQ(fieldOf(RoomDraft::fromJson(r).error()), "scheduled_at");
}

TEST(Regions, CodesNest) {
  EXPECT_TRUE(regionWithin("150102", "1501"));
  EXPECT_TRUE(regionWithin("150102", "150100"));
  EXPECT_TRUE(regionWithin("150102", "15"));
  EXPECT_FALSE(regionWithin("150202", "150100"));
  EXPECT_TRUE(regionWithin("", ""));
  EXPECT_FALSE(regionWithin("", "15"));
  EXPECT_EQ(regionName("1529"), "Alxa League");
}

TEST(ParseObject, RejectsNonObjects) {
  EXPECT_EQ(parseObject("{").error().code, "invalid_json");
  EXPECT_EQ(parseObject("[1]").error().code, "invalid_json");
  EXPECT_TRUE(parseObject("{\"a\":1}").ok());
}

}  // namespace
}  // namespace jobcast::rooms
