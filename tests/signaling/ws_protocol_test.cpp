// Pure parts of the live channel: frame decoding, resume decisions, word filter.

#include <gtest/gtest.h>

#include "rooms/live/live_room.h"
#include "signaling/ws_protocol.h"

namespace jobcast {
namespace {

using live::ResumeVerdict;

std::string errorCode(std::string_view text, size_t max = 1024) {
  auto r = ws::decodeFrame(text, max);
  auto* e = std::get_if<ws::FrameError>(&r);
  return e ? e->code : "";
}

TEST(WsProtocol, DecodesFramesAndNamesWhatIsWrong) {
  EXPECT_EQ(errorCode("nope"), "bad_frame");
  EXPECT_EQ(errorCode("[1]"), "bad_frame");
  EXPECT_EQ(errorCode(R"({"req":1})"), "missing_field");
  EXPECT_EQ(errorCode(R"({"type":"x","req":1})"), "unknown_type");
  EXPECT_EQ(errorCode(R"({"type":"chat.send"})"), "missing_field");
  EXPECT_EQ(errorCode(R"({"type":"chat.send","req":"1"})"), "bad_frame");
  EXPECT_EQ(errorCode(R"({"type":"chat.send","req":1,"text":5})"), "invalid_field");
  EXPECT_EQ(errorCode(std::string(2000, ' ')), "too_large");
  auto ok = ws::decodeFrame(R"({"type":"chat.send","req":7,"text":"hi"})", 1024);
  ASSERT_TRUE(std::holds_alternative<ws::ClientFrame>(ok));
  EXPECT_EQ(*std::get<ws::ClientFrame>(ok).req, 7);
  auto unknown = ws::decodeFrame(R"({"type":"x","req":3})", 1024);
  EXPECT_EQ(*std::get<ws::FrameError>(unknown).req, 3);  // the error can name the request
}

TEST(WsProtocol, HelloNeedsARoomIdAndAStreamIdForSince) {
  // The schema check in decodeFrame or decodeHello's own checks answer.
  auto hello = [](std::string_view text) -> std::variant<ws::Hello, ws::FrameError> {
    auto decoded = ws::decodeFrame(text, 4096);
    if (auto* err = std::get_if<ws::FrameError>(&decoded))
      return *err;
    return ws::decodeHello(std::get<ws::ClientFrame>(decoded));
  };
  EXPECT_TRUE(std::holds_alternative<ws::Hello>(hello(R"({"type":"hello","room":"r1"})")));
  EXPECT_TRUE(std::holds_alternative<ws::FrameError>(hello(R"({"type":"hello"})")));
  EXPECT_TRUE(std::holds_alternative<ws::FrameError>(hello(R"({"type":"hello","room":"a b"})")));
  EXPECT_TRUE(std::holds_alternative<ws::FrameError>(
      hello(R"({"type":"hello","room":"r","since":"yesterday"})")));
  auto h = std::get<ws::Hello>(hello(R"({"type":"hello","room":"r","since":"17-2","token":null})"));
  EXPECT_EQ(*h.since, "17-2");
  EXPECT_FALSE(h.token);
}

TEST(WsProtocol, ErrorFramesCarryRetrySecondsOnlyWhenThereAreSome) {
  auto slowed = nlohmann::json::parse(ws::errorFrame(7, "slow_mode", "slow mode: wait 12 s", 12));
  EXPECT_EQ(slowed["retry_s"], 12);
  EXPECT_EQ(slowed["req"], 7);
  auto plain = nlohmann::json::parse(ws::errorFrame(std::nullopt, "banned", "you are banned"));
  EXPECT_FALSE(plain.contains("retry_s"));
  EXPECT_FALSE(plain.contains("req"));
}

TEST(WsProtocol, EventFramesSpliceTheStoredJson) {
  auto j = nlohmann::json::parse(ws::eventFrame("1-0", "chat.message", R"({"text":"a\"b"})"));
  EXPECT_EQ(j["type"], "event");
  EXPECT_EQ(j["id"], "1-0");
  EXPECT_EQ(j["data"]["text"], "a\"b");
  EXPECT_EQ(ws::errorPolicy("banned").close_code, ws::kCloseBanned);
  EXPECT_TRUE(ws::errorPolicy("bad_frame").strike);
  EXPECT_FALSE(ws::errorPolicy("muted").strike);
}

TEST(LiveRoom, ResumeVerdicts) {
  EXPECT_EQ(live::resumeVerdict(std::nullopt, "5-0", "1-0", "0-0"), ResumeVerdict::Fresh);
  EXPECT_EQ(live::resumeVerdict("3-0", "5-0", "1-0", "0-0"), ResumeVerdict::Resume);
  EXPECT_EQ(live::resumeVerdict("5-0", "5-0", "", "0-0"), ResumeVerdict::Resume);
  EXPECT_EQ(live::resumeVerdict("3-0", "9-0", "4-0", "0-0"), ResumeVerdict::Expired);  // trimmed
  EXPECT_EQ(live::resumeVerdict("3-0", "9-0", "1-0", "4-0"), ResumeVerdict::Expired);  // deleted
  EXPECT_EQ(live::resumeVerdict("3-0", "9-0", "", "0-0"), ResumeVerdict::Expired);     // emptied
  EXPECT_EQ(live::resumeVerdict("10-0", "9-0", "1-0", "0-0"), ResumeVerdict::Unknown);
}

TEST(LiveRoom, StreamIdsOrderNumerically) {
  EXPECT_LT(*live::StreamId::parse("9-5"), *live::StreamId::parse("10-0"));
  EXPECT_LT(*live::StreamId::parse("10-2"), *live::StreamId::parse("10-10"));
  EXPECT_FALSE(live::StreamId::parse("10"));
  EXPECT_FALSE(live::StreamId::parse("-1"));
  EXPECT_FALSE(live::StreamId::parse("1-x"));
  EXPECT_FALSE(live::StreamId::parse("99999999999999999999-0"));
}

TEST(LiveRoom, WordFilterMasksWholeWordsAnyCase) {
  live::WordFilter f({"darn", "Heck"});
  EXPECT_EQ(f.mask("Darn, what the HECK."), "****, what the ****.");
  EXPECT_EQ(f.mask("darning heckle"), "darning heckle");
  EXPECT_EQ(live::WordFilter({}).mask("darn"), "darn");
}

// Chinese and traditional Mongolian are written without spaces between words
// (Mongolian suffixes attach): a blocked word there is found inside the text,
// one '*' per character; Latin words still only as whole words, and Han text
// next to them counts as a boundary.
TEST(LiveRoom, WordFilterMasksChineseAndMongolianInsideText) {
  live::WordFilter f({"傻瓜", "ᠮᠠᠭᠤ", "darn", "ДУРАК"});
  EXPECT_EQ(f.mask("你是傻瓜吗"), "你是**吗");
  EXPECT_EQ(f.mask("傻瓜傻瓜"), "****");
  EXPECT_EQ(f.mask("ᠲᠡᠷᠡ ᠮᠠᠭᠤᠬᠠᠢ"), "ᠲᠡᠷᠡ ****ᠬᠠᠢ");
  EXPECT_EQ(f.mask("darn好"), "****好");
  EXPECT_EQ(f.mask("好darn，"), "好****，");
  EXPECT_EQ(f.mask("darné darn"), "darné ****");
  EXPECT_EQ(f.mask("ты дурак"), "ты *****");
  EXPECT_EQ(f.mask("傻子"), "傻子");
  // Bytes that are not UTF-8 pass through untouched.
  EXPECT_EQ(f.mask(std::string("\xff傻瓜", 7)), std::string("\xff**", 3));
}

TEST(LiveRoom, Utf8LengthCountsCharactersAndRejectsBadBytes) {
  EXPECT_EQ(live::utf8Length("héllo"), 5u);
  EXPECT_EQ(live::utf8Length("日本"), 2u);
  EXPECT_FALSE(live::utf8Length("\xff"));
  EXPECT_FALSE(live::utf8Length("a\x01"));
}

TEST(LiveRoom, AuthorizationFollowsRolesAndTheRoomsLists) {
  // The room "r" of employer "e", listing counsellor "k" and captioner "c".
  rooms::Membership room{"r", "e", {"k"}, {"c"}, {}};
  auto actor = [&](const std::string& sub, Role role, const std::string& employer = "") {
    rooms::Actor a{sub, sub, role, employer, false};
    a.standing = live::standingOf("r", a,
                                  {{"room",
                                    {{"employer_id", room.employer_id},
                                     {"counsellors", R"(["k"])"},
                                     {"captioners", R"(["c"])"}}}});
    return a;
  };
  rooms::Actor anon;
  EXPECT_EQ(live::authorize(anon, live::Action::ChatSend).error().code, "unauthorized");
  auto js = actor("js", Role::Jobseeker);
  EXPECT_TRUE(live::authorize(js, live::Action::QueueJoin));
  EXPECT_FALSE(live::authorize(js, live::Action::ModBan));
  auto emp = actor("e", Role::Employer, "e");
  EXPECT_TRUE(live::authorize(emp, live::Action::QueueNext));
  EXPECT_FALSE(live::authorize(emp, live::Action::QueueJoin));
  auto other_emp = actor("o", Role::Employer, "o");
  EXPECT_FALSE(live::authorize(other_emp, live::Action::QueueNext));
  EXPECT_FALSE(live::authorize(other_emp, live::Action::ModDelete));
  auto captioner = actor("c", Role::Captioner);
  EXPECT_TRUE(live::authorize(captioner, live::Action::CaptionSend));
  EXPECT_FALSE(live::authorize(captioner, live::Action::CardShow));
  EXPECT_FALSE(live::authorize(actor("c2", Role::Captioner), live::Action::CaptionSend));
  EXPECT_TRUE(live::authorize(actor("k", Role::Counsellor), live::Action::ModBan));
  EXPECT_TRUE(live::authorize(actor("k", Role::Counsellor), live::Action::CardShow));
  EXPECT_FALSE(live::authorize(actor("k2", Role::Counsellor), live::Action::ModBan));
  EXPECT_FALSE(live::authorize(actor("k2", Role::Counsellor), live::Action::CardShow));
}

}  // namespace
}  // namespace jobcast
