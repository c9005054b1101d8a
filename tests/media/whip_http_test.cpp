// WHIP ingest and HLS/recording egress of a real jobcastd over real HTTP, with a
// webrtcbin publisher in the test process and a real redis-server.

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "core/jwt.h"
#include "media/hls_subtitles.h"
#include "media/whip_client.h"
#include "rooms/keys.h"
#include "tests/media/decode.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/tokens.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;

std::string token(Role role, const std::string& sub, std::vector<std::string> rooms) {
  return signToken(role, sub, std::move(rooms));
}

struct Node {
  RedisServer redis;
  TempDir config_dir{"jobcast-media-config"};
  std::unique_ptr<Jobcastd> node;

  Node() {
    redis.start();
    std::string config = config_dir.path() + "/media.yaml";
    std::ofstream(config) << "media:\n  publisher_timeout_ms: 1500\n";
    node = std::make_unique<Jobcastd>(
        Jobcastd::Options{.args = {"--config", config}, .redis = redis.address()});
    node->start();
  }
  void room(const std::string& id, const std::string& status, const std::string& employer) {
    redis.command({"HSET", rooms::keys::room(id), "id", id, "status", status, "employer_id",
                   employer, "counsellors", R"(["c1"])"});
  }
  HttpResponse post(const std::string& room, const std::string& sdp, const std::string& bearer,
                    const std::string& type = "application/sdp") {
    HttpRequest req;
    req.method = "POST";
    req.url = node->url("/whip/" + room);
    req.body = sdp;
    req.headers = {{"Content-Type", type}};
    // The answer waits for ICE gathering; on 2 loaded cores (ctest -j2 beside
    // valgrind) that has taken over 10 s.
    req.timeout_ms = 30000;
    if (!bearer.empty())
      req.headers.push_back({"Authorization", "Bearer " + bearer});
    return http(req);
  }
  // Publishes with `client`; returns the WHIP response.
  HttpResponse publish(media::WhipClient& client, const std::string& room,
                       const std::string& bearer) {
    auto offer = client.createOffer();
    EXPECT_TRUE(offer) << (offer ? "" : offer.error().message);
    if (!offer)
      return {};
    auto r = post(room, offer.value(), bearer);
    if (r.status == 201) {
      auto set = client.setAnswer(r.body);
      EXPECT_TRUE(set) << (set ? "" : set.error().message);
      client.resource = r.header("location");
    }
    return r;
  }
  std::string stage(const std::string& room) {
    return httpGet(node->url("/api/v1/rooms/" + room + "/media")).json().value("stage", "");
  }
  std::vector<std::string> segments(const std::string& room, const std::string& rendition) {
    auto r = httpGet(node->url("/hls/" + room + "/" + rendition + "/index.m3u8"));
    std::vector<std::string> out;
    std::istringstream lines(r.body);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line[0] != '#')
        out.push_back(line);
    }
    return out;
  }
};

TEST(Whip, PublishedLadderDecodesInEveryRendition) {
  Node n;
  n.room("r1", "live", "emp1");
  media::WhipClient::Options options;
  options.width = 854;
  options.height = 480;
  media::WhipClient client(options);
  auto r = n.publish(client, "r1", token(Role::Employer, "emp1", {"r1"}));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/sdp");
  EXPECT_TRUE(std::regex_match(r.header("location"), std::regex("/whip/r1/[0-9a-f]+")))
      << r.header("location");
  EXPECT_NE(r.body.find("a=candidate:"), std::string::npos);
  EXPECT_TRUE(client.waitConnected());

  ASSERT_TRUE(eventually(
      [&] {
        return httpGet(n.node->url("/hls/r1/master.m3u8")).status == 200 &&
               n.segments("r1", "source").size() >= 3;
      },
      25s))
      << n.node->log();
  auto master = httpGet(n.node->url("/hls/r1/master.m3u8"));
  EXPECT_EQ(master.header("content-type"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(master.header("cache-control"), "no-cache");
  EXPECT_EQ(master.header("access-control-allow-origin"), "*");
  EXPECT_NE(master.body.find("RESOLUTION=854x480,CODECS=\"avc1.42e0"), std::string::npos)
      << master.body;
  EXPECT_NE(master.body.find("RESOLUTION=640x360,CODECS=\"avc1.42e0"), std::string::npos);
  // The audio-only variant: AAC alone, with the captions' subtitle group like the others.
  EXPECT_NE(master.body.find("CODECS=\"mp4a.40.2\",SUBTITLES=\"subs\"\naudio/index.m3u8"),
            std::string::npos)
      << master.body;
  std::string body = master.body;
  int variants = 0;
  const std::regex bandwidth("INF:BANDWIDTH=(\\d+)");
  for (std::sregex_iterator it(body.begin(), body.end(), bandwidth), end; it != end; ++it) {
    ++variants;
    EXPECT_GT(std::stol((*it)[1]), 30000);
  }
  EXPECT_EQ(variants, 3);
  // The audio-only variant fits a 2G link: its own mono AAC, packed audio.
  std::smatch audio_rates;
  ASSERT_TRUE(std::regex_search(
      body, audio_rates,
      std::regex("INF:BANDWIDTH=(\\d+),AVERAGE-BANDWIDTH=(\\d+),CODECS=\"mp4a.40.2\"")))
      << body;
  EXPECT_LE(std::stol(audio_rates[1]), 64000) << body;
  EXPECT_LE(std::stol(audio_rates[2]), 56000) << body;

  struct Expect {
    std::string rendition;
    int width, height;
  };
  for (const Expect& e :
       {Expect{"source", 854, 480}, Expect{"360p", 640, 360}, Expect{"audio", 0, 0}}) {
    auto names = n.segments("r1", e.rendition);
    ASSERT_GE(names.size(), 2u) << e.rendition;
    auto seg = httpGet(n.node->url("/hls/r1/" + e.rendition + "/" + names.back()));
    ASSERT_EQ(seg.status, 200) << e.rendition;
    EXPECT_EQ(seg.header("content-type"), e.width ? "video/mp2t" : "audio/aac");
    EXPECT_NE(seg.header("cache-control").find("max-age"), std::string::npos);
    Decoded d = decodeBytes(seg.body, e.width ? "ts" : "aac", 20s);
    EXPECT_TRUE(d.finished) << e.rendition << ": " << d.error;
    EXPECT_GT(d.audio_buffers, 3) << e.rendition;  // AAC decoded: audio is present
    if (e.width) {
      EXPECT_GT(d.video_frames, 10) << e.rendition;
      EXPECT_EQ(d.width, e.width) << e.rendition;
      EXPECT_EQ(d.height, e.height) << e.rendition;
    } else {
      EXPECT_EQ(d.video_frames, 0);
    }
  }
  EXPECT_EQ(httpGet(n.node->url("/hls/r1/source/nope-1.ts")).status, 404);

  // Only its publisher ends the session: not a counsellor of the room, not
  // anyone else with a token for every room.
  HttpRequest del;
  del.method = "DELETE";
  del.url = n.node->url(client.resource);
  del.headers = {{"Authorization", "Bearer " + token(Role::Counsellor, "c1", {"r1"})}};
  EXPECT_EQ(http(del).status, 403);
  del.headers = {{"Authorization", "Bearer " + token(Role::Captioner, "x", {"*"})}};
  EXPECT_EQ(http(del).status, 403);
  EXPECT_EQ(n.stage("r1"), "live");
  // DELETE ends the session; the resource is gone afterwards.
  del.headers = {{"Authorization", "Bearer " + token(Role::Employer, "emp1", {"r1"})}};
  EXPECT_EQ(http(del).status, 204);
  EXPECT_TRUE(eventually([&] { return n.stage("r1") == "idle"; }, 5s));
  EXPECT_EQ(http(del).status, 404);
}

TEST(Whip, RefusesBadRequestsWithClearStatuses) {
  Node n;
  n.room("r1", "live", "emp1");
  n.room("later", "scheduled", "emp1");
  std::string employer = token(Role::Employer, "emp1", {"r1", "later"});
  media::WhipClient client;
  auto offer = client.createOffer();
  ASSERT_TRUE(offer);

  auto check = [](const HttpResponse& r, long status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], code) << r.body;
  };
  check(n.post("r1", offer.value(), ""), 401, "unauthorized");
  check(n.post("r1", offer.value(), "not.a.token"), 401, "invalid_token");
  check(n.post("r1", offer.value(), employer, "text/plain"), 415, "unsupported_media_type");
  check(n.post("nosuch", offer.value(), token(Role::Admin, "a", {"*"})), 404, "room_not_found");
  check(n.post("later", offer.value(), employer), 409, "room_not_live");
  check(n.post("r1", offer.value(), token(Role::Jobseeker, "js", {"r1"})), 403, "forbidden");
  check(n.post("r1", offer.value(), token(Role::Employer, "other", {"r1"})), 403, "forbidden");
  check(n.post("r1", "v=0\r\nthis is not sdp", employer), 400, "bad_sdp");
  std::string no_video = std::regex_replace(offer.value(), std::regex("H264/90000"), "VP8/90000");
  check(n.post("r1", no_video, employer), 400, "bad_sdp");

  // A counsellor for the room may publish; a second publisher then gets 409.
  auto first = n.post("r1", offer.value(), token(Role::Counsellor, "c1", {"r1"}));
  ASSERT_EQ(first.status, 201) << first.body;
  media::WhipClient second;
  auto offer2 = second.createOffer();
  ASSERT_TRUE(offer2);
  check(n.post("r1", offer2.value(), employer), 409, "slot_taken");

  // No trickle ICE: PATCH is 405 per RFC 9725; OPTIONS answers CORS preflight.
  HttpRequest patch;
  patch.method = "PATCH";
  patch.url = n.node->url(first.header("location"));
  patch.body = "a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n";
  patch.headers = {{"Content-Type", "application/trickle-ice-sdpfrag"},
                   {"Authorization", "Bearer " + employer}};
  EXPECT_EQ(http(patch).status, 405);
  HttpRequest options;
  options.method = "OPTIONS";
  options.url = n.node->url("/whip/r1");
  auto pre = http(options);
  EXPECT_EQ(pre.status, 204);
  EXPECT_NE(pre.header("access-control-allow-methods").find("POST"), std::string::npos);
}

TEST(Whip, KilledPublisherIsDetectedAndANewOneResumes) {
  Node n;
  n.room("r1", "live", "emp1");
  std::string employer = token(Role::Employer, "emp1", {"r1"});
  auto first = std::make_unique<media::WhipClient>();
  ASSERT_EQ(n.publish(*first, "r1", employer).status, 201);
  ASSERT_TRUE(eventually([&] { return n.segments("r1", "source").size() >= 2; }, 20s));

  first->stop();  // no DELETE: the publisher just vanishes
  auto lost = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return n.stage("r1") == "reconnecting"; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - lost, 6s);
  // The room's pages learn it from the event stream.
  EXPECT_NE(n.redis.command({"XRANGE", "jc:{r:r1}:events", "-", "+"}).find("reconnecting"),
            std::string::npos);
  // The room stays live and its playlist keeps answering.
  EXPECT_EQ(httpGet(n.node->url("/hls/r1/master.m3u8")).status, 200);
  // Low-latency HLS: a blocking reload for the next segment waits three
  // target durations for a part that does not come, then says so.
  {
    std::string ll = httpGet(n.node->url("/hls/r1/ll/index.m3u8")).body;
    size_t at = ll.find("#EXT-X-MEDIA-SEQUENCE:");
    ASSERT_NE(at, std::string::npos) << ll;
    long long open = std::atoll(ll.c_str() + at + 22);
    for (at = 0; (at = ll.find("#EXTINF:", at)) != std::string::npos; ++at)
      ++open;
    auto started = std::chrono::steady_clock::now();
    auto held = httpGet(
        n.node->url("/hls/r1/ll/index.m3u8?_HLS_msn=" + std::to_string(open + 1) + "&_HLS_part=0"));
    EXPECT_EQ(held.status, 503) << held.body;
    EXPECT_NE(held.body.find("not_yet_available"), std::string::npos) << held.body;
    EXPECT_GE(std::chrono::steady_clock::now() - started, 2s) << "held, not refused at once";
  }

  media::WhipClient second;
  auto r = n.publish(second, "r1", employer);
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(eventually(
      [&] {
        auto p = httpGet(n.node->url("/hls/r1/source/index.m3u8")).body;
        auto at = p.find("#EXT-X-DISCONTINUITY\n");
        return at != std::string::npos && p.find(".ts", at) != std::string::npos &&
               p.find(".ts", p.find(".ts", at) + 3) != std::string::npos;
      },
      20s))
      << httpGet(n.node->url("/hls/r1/source/index.m3u8")).body;
  // The low-latency rendition too: the new publisher's parts follow a
  // discontinuity, with their own initialization segment.
  EXPECT_TRUE(eventually(
      [&] {
        return httpGet(n.node->url("/hls/r1/ll/index.m3u8"))
                   .body.find("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=") != std::string::npos;
      },
      20s))
      << httpGet(n.node->url("/hls/r1/ll/index.m3u8")).body;
  EXPECT_EQ(n.stage("r1"), "live");
}

TEST(Whip, RecordingPlaysToTheEndWithItsJobTimeline) {
  Node n;
  n.room("r1", "live", "emp1");
  std::string employer = token(Role::Employer, "emp1", {"r1"});
  media::WhipClient client;
  ASSERT_EQ(n.publish(client, "r1", employer).status, 201);
  ASSERT_TRUE(eventually([&] { return n.segments("r1", "source").size() >= 2; }, 20s));
  n.redis.command({"XADD", "jc:{r:r1}:events", "*", "kind", "job.pinned", "data",
                   R"({"job_id":"j1","title":"Warehouse operative"})", "aud", "all"});
  std::this_thread::sleep_for(1500ms);
  n.redis.command({"XADD", "jc:{r:r1}:events", "*", "kind", "job.pinned", "data",
                   R"({"job":{"id":"j2","title":"Delivery driver"}})", "aud", "all"});
  std::this_thread::sleep_for(1500ms);
  HttpRequest del;
  del.method = "DELETE";
  del.url = n.node->url(client.resource);
  del.headers = {{"Authorization", "Bearer " + employer}};
  ASSERT_EQ(http(del).status, 204);

  // Replays need a token naming the room; the list hands out per-piece links.
  std::string viewer = token(Role::Jobseeker, "js", {"r1"});
  auto anonymous = httpGet(n.node->url("/api/v1/rooms/r1/recordings"));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(httpGet(n.node->url("/api/v1/rooms/r1/recordings"),
                    {{"Authorization", "Bearer " + token(Role::Admin, "a", {"r2"})}})
                .status,
            403);
  nlohmann::json list;
  ASSERT_TRUE(eventually(
      [&] {
        list = httpGet(n.node->url("/api/v1/rooms/r1/recordings"),
                       {{"Authorization", "Bearer " + viewer}})
                   .json();
        return list["recordings"].size() == 1;
      },
      10s))
      << list.dump();
  auto piece = list["recordings"][0];
  ASSERT_EQ(piece["pins"].size(), 2u) << piece.dump();
  EXPECT_EQ(piece["pins"][0]["job_id"], "j1");
  EXPECT_EQ(piece["pins"][1]["title"], "Delivery driver");
  EXPECT_GT(piece["pins"][1]["offset_s"].get<double>(), piece["pins"][0]["offset_s"].get<double>());

  std::string url = n.node->url(piece["url"].get<std::string>());
  std::string bare = url.substr(0, url.find('?'));
  EXPECT_EQ(httpGet(bare).status, 401);
  EXPECT_EQ(httpGet(bare + "?access=" + viewer).status, 403);  // a link, not a login token
  // ... and a link is no sign-in token either.
  std::string link = url.substr(url.find("?access=") + 8);
  EXPECT_EQ(
      httpGet(n.node->url("/api/v1/me/applications"), {{"Authorization", "Bearer " + link}}).status,
      401);
  EXPECT_EQ(httpGet(bare, {{"Range", "bytes=0-9"}, {"Authorization", "Bearer " + viewer}}).status,
            206);
  HttpRequest range;
  range.url = url;
  range.headers = {{"Range", "bytes=0-99"}};
  auto part = http(range);
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body.size(), 100u);
  EXPECT_EQ(part.header("content-range"),
            "bytes 0-99/" + std::to_string(piece["bytes"].get<uint64_t>()));
  range.headers = {{"Range", "bytes=999999999-"}};
  EXPECT_EQ(http(range).status, 416);
  auto whole = httpGet(url);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.header("accept-ranges"), "bytes");
  Decoded d = decodeBytes(whole.body, "mp4", 30s);
  EXPECT_TRUE(d.finished) << d.error;
  EXPECT_GT(d.video_frames, 60);
  EXPECT_GT(d.audio_buffers, 60);
}

// A caption sent over the live channel while a publisher is on air: the HLS
// master offers the subtitle rendition, its playlist follows the video's
// segments, the WebVTT segment of the moment holds the caption mapped to that
// segment's PTS; once the publisher stops, the recording has a WebVTT file
// beside it, listed and served with the piece, with the caption in it.
TEST(Whip, CaptionsReachTheHlsSubtitlesAndTheRecording) {
  Node n;
  n.room("r1", "live", "emp1");
  n.redis.command({"HSET", rooms::keys::room("r1"), "captioners", R"(["cap1"])"});
  std::string employer = token(Role::Employer, "emp1", {"r1"});
  media::WhipClient client;
  ASSERT_EQ(n.publish(client, "r1", employer).status, 201);
  ASSERT_TRUE(eventually([&] { return n.segments("r1", "source").size() >= 2; }, 20s));

  std::string master = httpGet(n.node->url("/hls/r1/master.m3u8")).body;
  EXPECT_NE(master.find("#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",LANGUAGE=\"zh\""),
            std::string::npos)
      << master;
  EXPECT_NE(master.find("SUBTITLES=\"subs\""), std::string::npos) << master;

  std::string error;
  auto ws = WsClient::connect(n.node->httpPort(), {}, &error);
  ASSERT_TRUE(ws) << error;
  ASSERT_EQ(ws->hello("r1", token(Role::Captioner, "cap1", {"r1"}))["type"], "welcome");
  auto ack = ws->call({{"type", "caption.send"}, {"text", "请稍候 <b>欢迎</b>"}, {"lang", "zh"}});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();

  // The subtitle playlist lists the same segments as the video's.
  auto listed = [&](const std::string& path, const std::string& ext) {
    std::vector<std::string> out;
    std::istringstream lines(httpGet(n.node->url(path)).body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.size() > ext.size() && line.substr(line.size() - ext.size()) == ext)
        out.push_back(line);
    }
    return out;
  };
  std::string vtt, vtt_name;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& name : listed("/hls/r1/subs.m3u8", ".vtt")) {
          auto r = httpGet(n.node->url("/hls/r1/" + name));
          if (r.status == 200 &&
              r.body.find("请稍候 &lt;b&gt;欢迎&lt;/b&gt;") != std::string::npos) {
            vtt = r.body;
            vtt_name = name;
            return true;
          }
        }
        return false;
      },
      15s))
      << httpGet(n.node->url("/hls/r1/subs.m3u8")).body;
  auto subs = httpGet(n.node->url("/hls/r1/subs.m3u8"));
  EXPECT_EQ(subs.header("content-type"), "application/vnd.apple.mpegurl");
  auto video = httpGet(n.node->url("/hls/r1/source/index.m3u8")).body;
  auto header = [](const std::string& playlist, const std::string& tag) {
    auto at = playlist.find(tag);
    return at == std::string::npos ? std::string()
                                   : playlist.substr(at, playlist.find('\n', at) - at);
  };
  EXPECT_EQ(header(subs.body, "#EXT-X-TARGETDURATION"), header(video, "#EXT-X-TARGETDURATION"));
  // The VTT segment is immutable like a media segment and maps to the PTS
  // of the video segment of the same sequence.
  auto seg = httpGet(n.node->url("/hls/r1/" + vtt_name));
  EXPECT_EQ(seg.header("content-type"), "text/vtt; charset=utf-8");
  EXPECT_EQ(seg.header("cache-control"), "public, max-age=31536000, immutable");
  std::string base = vtt_name.substr(5, vtt_name.size() - 5 - 4);  // "subs/" ... ".vtt"
  auto ts = httpGet(n.node->url("/hls/r1/source/" + base + ".ts"));
  if (ts.status == 200) {
    int64_t pts = media::tsFirstPts(ts.body);
    ASSERT_GE(pts, 0);
    EXPECT_NE(vtt.find("X-TIMESTAMP-MAP=MPEGTS:" + std::to_string(pts) + ",LOCAL:"),
              std::string::npos)
        << vtt;
  }

  // The recording: PIECE.vtt beside PIECE.mp4, with the caption from the piece's start.
  HttpRequest del;
  del.method = "DELETE";
  del.url = n.node->url(client.resource);
  del.headers = {{"Authorization", "Bearer " + employer}};
  ASSERT_EQ(http(del).status, 204);
  std::string viewer = token(Role::Jobseeker, "js", {"r1"});
  nlohmann::json list;
  ASSERT_TRUE(eventually(
      [&] {
        list = httpGet(n.node->url("/api/v1/rooms/r1/recordings"),
                       {{"Authorization", "Bearer " + viewer}})
                   .json();
        return list["recordings"].size() == 1 && list["recordings"][0].contains("captions_url");
      },
      10s))
      << list.dump();
  std::string url = list["recordings"][0]["captions_url"];
  EXPECT_NE(url.find("?access="), std::string::npos);
  auto file = httpGet(n.node->url(url));
  ASSERT_EQ(file.status, 200) << file.body;
  EXPECT_EQ(file.header("content-type"), "text/vtt; charset=utf-8");
  EXPECT_EQ(file.body.rfind("WEBVTT\n", 0), 0u);
  EXPECT_NE(file.body.find("请稍候 &lt;b&gt;欢迎&lt;/b&gt;"), std::string::npos) << file.body;
  // Its cue starts within the piece (after its start, before its end).
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(file.body, m, std::regex(R"((\d\d):(\d\d):(\d\d)\.(\d\d\d) --> )")));
  double start_s =
      std::stoi(m[1]) * 3600 + std::stoi(m[2]) * 60 + std::stoi(m[3]) + std::stoi(m[4]) / 1000.0;
  EXPECT_GT(start_s, 0.0);
  EXPECT_LT(start_s, list["recordings"][0]["duration_s"].get<double>());
  // Without its link, the captions are as closed as the video.
  EXPECT_EQ(httpGet(n.node->url(url.substr(0, url.find('?')))).status, 401);
}

TEST(Whip, EndedRoomDropsItsHlsAndKeepsRecordings) {
  Node n;
  n.room("r1", "live", "emp1");
  media::WhipClient client;
  ASSERT_EQ(n.publish(client, "r1", token(Role::Employer, "emp1", {"r1"})).status, 201);
  ASSERT_TRUE(eventually([&] { return n.segments("r1", "source").size() >= 2; }, 20s));
  // The room ends as rooms/transition_room.lua ends it: the status, then its
  // room.status event, which the node holding the media follows.
  n.room("r1", "ended", "emp1");
  std::string id = n.redis.command({"XADD", rooms::keys::events("r1"), "*", "kind", "room.status",
                                    "data", R"({"status":"ended","at":0})", "aud", "all"});
  n.redis.command({RedisServer::notifyCommand(), rooms::keys::notify("r1"), id});
  ASSERT_TRUE(
      eventually([&] { return httpGet(n.node->url("/hls/r1/master.m3u8")).status == 404; }, 10s));
  EXPECT_FALSE(std::filesystem::exists(n.node->dataDir() + "/hls/r1"));
  EXPECT_TRUE(eventually([&] {
    return httpGet(n.node->url("/api/v1/rooms/r1/recordings"),
                   {{"Authorization", "Bearer " + token(Role::Employer, "emp1", {"r1"})}})
               .json()["recordings"]
               .size() == 1;
  }));
}

}  // namespace
}  // namespace jobcast::test
