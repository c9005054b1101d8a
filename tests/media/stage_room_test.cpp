// The shared stage in a live room, end to end through jobcastd: the employer
// publishes (WHIP, 640x360 test pattern) and a WHEP viewer watches the
// passthrough programme. A counsellor is put on the stage and publishes a
// solid red camera: the programme becomes the 1280x720 composite with red in
// the guest's picture-in-picture tile, without the viewer reconnecting. An
// interpreter (solid blue) joins: the HLS master offers the interpreter
// variant and WHEP ?variant=interpreter shows blue in the interpreter's tile.
// Both leave the stage: the variant goes and the programme is the employer's
// picture again.

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/jwt.h"
#include "media/stage_mixer.h"
#include "media/whip_client.h"
#include "rooms/keys.h"
#include "tests/media/decode.h"
#include "tests/media/media_test_util.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/whep_client.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;
using media::StageMixer;

std::string token(const std::string& sub, Role role) {
  return signToken(role, sub, {"r1"});
}

struct Publisher {
  std::unique_ptr<media::WhipClient> client;
  HttpResponse response;
};

// Publishes a synthetic camera into r1 with `bearer`; the response says how it went.
Publisher publish(Jobcastd& node, const std::string& bearer, media::WhipClient::Options options) {
  Publisher p;
  p.client = std::make_unique<media::WhipClient>(options);
  auto offer = p.client->createOffer();
  EXPECT_TRUE(offer) << offer.error().message;
  if (!offer)
    return p;
  HttpRequest post{.method = "POST", .url = node.url("/whip/r1"), .body = offer.value()};
  post.headers = {{"Content-Type", "application/sdp"}, {"Authorization", "Bearer " + bearer}};
  post.timeout_ms = 30000;
  p.response = http(post);
  if (p.response.status == 201) {
    EXPECT_TRUE(p.client->setAnswer(p.response.body));
    p.client->resource = p.response.header("location");
    EXPECT_TRUE(p.client->waitConnected(20s));
  }
  return p;
}

int stageRequest(Jobcastd& node, const std::string& method, const std::string& sub,
                 const std::string& bearer, const std::string& body = "") {
  HttpRequest r{.method = method, .url = node.url("/api/v1/rooms/r1/stage/" + sub), .body = body};
  r.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + bearer}};
  auto res = http(r);
  EXPECT_EQ(res.status, 200) << method << " " << sub << ": " << res.body;
  return res.status;
}

// What the viewer has received so far, and what the node says of its viewers
// and the programme: printed when a wait for the picture fails.
std::string viewerState(Jobcastd& node, WhepClient& viewer) {
  std::ostringstream out;
  auto f = viewer.lastFrame();
  auto keyframes = viewer.keyframes();
  out << "last frame " << f.width << "x" << f.height << ", " << viewer.videoFrames() << " frames, "
      << keyframes.size() << " keyframes";
  if (!keyframes.empty())
    out << " (last " << keyframes.back().bytes << " B)";
  out << ", " << viewer.packetsLost() << " packets lost, " << viewer.retransmissionsReceived()
      << " retransmitted\n";
  std::istringstream metrics(httpGet(node.url("/metrics")).body);
  for (std::string line; std::getline(metrics, line);) {
    if (line.rfind("jobcast_whep", 0) == 0 || line.rfind("jobcast_stage", 0) == 0 ||
        line.rfind("jobcast_programme", 0) == 0)
      out << line << "\n";
  }
  return out.str();
}

// The viewer's latest frame is w x h and, when given, has colour rgb around (x, y).
bool frameIs(WhepClient& viewer, int w, int h, int x = -1, int y = -1, Rgb colour = {}) {
  auto f = viewer.lastFrame();
  if (f.width != w || f.height != h)
    return false;
  return x < 0 || near(meanColour(f.rgb, f.width, x, y), colour.r, colour.g, colour.b);
}

TEST(StageRoom, GuestsAndInterpreterJoinAndLeaveTheLiveProgramme) {
  RedisServer redis;
  redis.start();
  redis.command({"HSET", "jc:{r:r1}:room", "id", "r1", "status", "live", "employer_id", "emp1",
                 "counsellors", R"(["c1"])", "interpreters", R"(["i1"])"});
  TempDir dir{"jobcast-stage-room"};
  std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "media:\n  publisher_timeout_ms: 3000\n"
                           "whep:\n  ice_addresses: \"127.0.0.1\"\n";
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  node.start();
  struct LogOnFailure {
    Jobcastd& node;
    ~LogOnFailure() {
      if (!::testing::Test::HasFailure())
        return;
      std::istringstream log(node.log());
      for (std::string line; std::getline(log, line);) {
        if (line.find("\"http") == std::string::npos && line.find("fragment") == std::string::npos)
          std::cerr << line << "\n";
      }
    }
  } log_on_failure{node};
  const std::string employer = token("emp1", Role::Employer);
  const std::string counsellor = token("c1", Role::Counsellor);
  const std::string interpreter = token("i1", Role::Captioner);

  auto main = publish(node, employer, {.width = 640, .height = 360, .tone_hz = 440});
  ASSERT_EQ(main.response.status, 201) << main.response.body;
  WhepClient viewer;
  ASSERT_EQ(viewer.connect(node.url("/whep/r1")), 201);
  ASSERT_TRUE(eventually([&] { return frameIs(viewer, 640, 360); }, 20s))
      << viewerState(node, viewer);

  // Not on the stage: a counsellor publishing would be a second main publisher.
  {
    auto refused = publish(node, counsellor, {.width = 320, .height = 180, .pattern = "red"});
    EXPECT_EQ(refused.response.status, 409) << refused.response.body;
  }

  // The counsellor joins the stage and publishes: the composite.
  stageRequest(node, "PUT", "c1", counsellor, R"({"slot":"guest","name":"Ms Li"})");
  auto guest = publish(node, counsellor, {.width = 320, .height = 180, .pattern = "red"});
  ASSERT_EQ(guest.response.status, 201) << guest.response.body;
  StageMixer::Options mix{.width = 1280, .height = 720};
  auto tile = StageMixer::place(mix, StageMixer::Slot::Guest, 0);
  EXPECT_TRUE(eventually(
      [&] {
        return frameIs(viewer, 1280, 720, tile.x + tile.width / 2, tile.y + tile.height / 3,
                       {255, 0, 0});
      },
      25s))
      << viewerState(node, viewer);
  // Outside the tile the employer's test pattern is still there (not red).
  {
    auto f = viewer.lastFrame();
    ASSERT_EQ(f.width, 1280);
    EXPECT_FALSE(near(meanColour(f.rgb, f.width, 200, 200), 255, 0, 0));
  }
  // HLS follows: the source rendition is the composite.
  EXPECT_TRUE(eventually(
      [&] {
        auto master = httpGet(node.url("/hls/r1/master.m3u8"));
        return master.status == 200 && master.body.find("RESOLUTION=1280x720") != std::string::npos;
      },
      20s))
      << httpGet(node.url("/hls/r1/master.m3u8")).body;
  EXPECT_EQ(httpGet(node.url("/hls/r1/master.m3u8")).body.find("interpreter"), std::string::npos);
  // Players reset their decoder where the source changed. The mark comes
  // with the first whole segment of the composite from the ladder's encoders,
  // which a loaded machine may take as long as the frames above to give.
  EXPECT_TRUE(eventually(
      [&] {
        return httpGet(node.url("/hls/r1/source/index.m3u8")).body.find("#EXT-X-DISCONTINUITY\n") !=
               std::string::npos;
      },
      25s))
      << httpGet(node.url("/hls/r1/source/index.m3u8")).body;
  // Low-latency HLS follows as well: the composite's parameter sets bring a
  // new initialization segment, and the segment after it decodes at the
  // composite's size.
  {
    std::string ll, init_uri, segment_uri;
    EXPECT_TRUE(eventually(
        [&] {
          ll = httpGet(node.url("/hls/r1/ll/index.m3u8")).body;
          size_t map = ll.rfind("#EXT-X-MAP:URI=\"");
          if (map == std::string::npos)
            return false;
          size_t uri = map + 16;
          init_uri = ll.substr(uri, ll.find('"', uri) - uri);
          size_t inf = ll.find("#EXTINF:", map);
          if (init_uri.find("-init-1.mp4") != std::string::npos || inf == std::string::npos)
            return false;
          size_t line = ll.find('\n', inf) + 1;
          segment_uri = ll.substr(line, ll.find('\n', line) - line);
          return true;
        },
        25s))
        << ll;
    EXPECT_NE(ll.find("#EXT-X-DISCONTINUITY\n"), std::string::npos) << ll;
    auto init = httpGet(node.url("/hls/r1/ll/" + init_uri));
    auto segment = httpGet(node.url("/hls/r1/ll/" + segment_uri));
    ASSERT_EQ(init.status, 200) << init_uri;
    ASSERT_EQ(segment.status, 200) << segment_uri;
    Decoded d = decodeBytes(init.body + segment.body, "mp4", 20s);
    EXPECT_TRUE(d.finished) << d.error;
    EXPECT_EQ(d.width, 1280);
    EXPECT_GT(d.video_frames, 10);
    EXPECT_GT(d.audio_buffers, 10);
  }

  // The interpreter joins: a second variant, in HLS and WHEP.
  stageRequest(node, "PUT", "i1", employer, R"({"slot":"interpreter","name":"Sign"})");
  auto signer = publish(node, interpreter, {.width = 320, .height = 180, .pattern = "blue"});
  ASSERT_EQ(signer.response.status, 201) << signer.response.body;
  EXPECT_TRUE(eventually(
      [&] {
        auto master = httpGet(node.url("/hls/r1/master.m3u8")).body;
        return master.find("URI=\"interpreter/index.m3u8\"") != std::string::npos &&
               master.find("VIDEO=\"programme\"") != std::string::npos;
      },
      20s))
      << httpGet(node.url("/hls/r1/master.m3u8")).body;
  EXPECT_EQ(httpGet(node.url("/hls/r1/interpreter/index.m3u8")).status, 200);
  {
    WhepClient signing;
    ASSERT_EQ(signing.connect(node.url("/whep/r1?variant=interpreter")), 201);
    auto corner = StageMixer::place(mix, StageMixer::Slot::Interpreter);
    EXPECT_TRUE(eventually(
        [&] {
          return frameIs(signing, 1280, 720, corner.x + corner.width / 2,
                         corner.y + corner.height / 3, {0, 0, 255});
        },
        20s));
    // The programme itself has no interpreter.
    auto f = viewer.lastFrame();
    ASSERT_EQ(f.width, 1280);
    EXPECT_FALSE(
        near(meanColour(f.rgb, f.width, corner.x + corner.width / 2, corner.y + corner.height / 3),
             0, 0, 255));
  }

  // The interpreter ends their session: the variant is withdrawn.
  {
    HttpRequest del{.method = "DELETE", .url = node.url(signer.client->resource)};
    del.headers = {{"Authorization", "Bearer " + interpreter}};
    EXPECT_EQ(http(del).status, 204);
  }
  EXPECT_TRUE(eventually(
      [&] {
        return httpGet(node.url("/hls/r1/master.m3u8")).body.find("interpreter") ==
               std::string::npos;
      },
      10s));
  {
    WhepClient late;
    EXPECT_EQ(late.connect(node.url("/whep/r1?variant=interpreter")), 404);
  }

  // The counsellor is taken off the stage: their session ends, the programme
  // is the employer's picture again, and the viewer never reconnected.
  stageRequest(node, "DELETE", "c1", counsellor);
  EXPECT_TRUE(eventually([&] { return frameIs(viewer, 640, 360); }, 20s))
      << viewer.lastFrame().width << "x" << viewer.lastFrame().height;
  EXPECT_NE(httpGet(node.url("/metrics")).body.find("jobcast_whep_viewers 1"), std::string::npos);

  // The recording went through both switches and plays to its end.
  {
    HttpRequest del{.method = "DELETE", .url = node.url(main.client->resource)};
    del.headers = {{"Authorization", "Bearer " + employer}};
    EXPECT_EQ(http(del).status, 204);
  }
  nlohmann::json list;
  ASSERT_TRUE(eventually(
      [&] {
        list = httpGet(node.url("/api/v1/rooms/r1/recordings"),
                       {{"Authorization", "Bearer " + employer}})
                   .json();
        return list["recordings"].size() == 1;
      },
      10s))
      << list.dump();
  auto whole = httpGet(node.url(list["recordings"][0]["url"].get<std::string>()));
  ASSERT_EQ(whole.status, 200);
  Decoded d = decodeBytes(whole.body, "mp4", 30s);
  EXPECT_TRUE(d.finished) << d.error;
  EXPECT_GT(d.video_frames, 150);  // well over ten seconds on air at 30 fps
  EXPECT_GT(d.audio_buffers, 150);
}

// The media follows the room's event stream: taking a guest off the stage over
// REST appends stage.changed, and the node holding the room's media ends the
// guest's session on that event (there is no periodic re-read of the stage).
TEST(StageRoom, GuestTakenOffTheStageLeavesTheMediaOnTheEvent) {
  RedisServer redis;
  redis.start();
  redis.command({"HSET", rooms::keys::room("r1"), "id", "r1", "status", "live", "employer_id",
                 "emp1", "counsellors", R"(["c1"])"});
  Jobcastd node({.redis = redis.address()});
  node.start();
  const std::string employer = token("emp1", Role::Employer);
  const std::string counsellor = token("c1", Role::Counsellor);
  auto guests = [&] {
    return httpGet(node.url("/api/v1/rooms/r1/media")).json().value("guests", nlohmann::json());
  };

  auto main = publish(node, employer, {.width = 320, .height = 180});
  ASSERT_EQ(main.response.status, 201) << main.response.body;
  stageRequest(node, "PUT", "c1", employer, R"({"slot":"guest","name":"Ms Li"})");
  auto guest = publish(node, counsellor, {.width = 160, .height = 90, .pattern = "red"});
  ASSERT_EQ(guest.response.status, 201) << guest.response.body;
  ASSERT_EQ(guests(), nlohmann::json({"c1"}));

  // Off the stage: the stage.changed event ends the guest's session.
  stageRequest(node, "DELETE", "c1", employer);
  EXPECT_TRUE(eventually([&] { return guests() == nlohmann::json::array(); }, 10s)) << guests();
  HttpRequest del{.method = "DELETE", .url = node.url(guest.client->resource)};
  del.headers = {{"Authorization", "Bearer " + counsellor}};
  EXPECT_EQ(http(del).status, 404) << "the guest's WHIP session is still up";
  // The main publisher stays on air.
  EXPECT_EQ(httpGet(node.url("/api/v1/rooms/r1/media")).json()["stage"], "live");
}

}  // namespace
}  // namespace jobcast::test
