// A room's media on one of two jobcastd nodes sharing one Redis: the node
// with the publisher holds the room's media lease; the other answers WHEP,
// HLS and WHIP requests for the room with 307 to it, and following the
// redirect gets the media. When the publisher leaves (or its node dies) the
// room may be published on the other node.

#include <gtest/gtest.h>

#include <csignal>
#include <ctime>
#include <fstream>
#include <thread>

#include "core/jwt.h"
#include "media/whip_client.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/two_nodes.h"
#include "tests/support/whep_client.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;

double metric(const Jobcastd& node, const std::string& series) {
  std::string text = "\n" + httpGet(node.url("/metrics")).body;
  auto at = text.find("\n" + series + " ");  // a sample line, not # HELP
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

class MediaOwnerTest : public TwoNodesTest {
 protected:
  void SetUp() override {
    TwoNodesTest::SetUp();
    // A short lease so a dead node's room moves within the test.
    // The tests poll WHIP while a lease runs out: no session budget in the way.
    startNodes(
        "media:\n  publisher_timeout_ms: 1500\n  owner_lease_ms: 2000\n"
        "whep:\n  ice_addresses: \"127.0.0.1\"\n"
        "limits:\n  session_rate_per_second: 1000\n  session_rate_burst: 1000\n");
  }
};

TEST_F(MediaOwnerTest, OtherNodeRedirectsViewersToTheRoomsNode) {
  // No lease yet: each node answers for itself.
  EXPECT_EQ(httpGet(b.url("/hls/r1/master.m3u8")).status, 404);
  EXPECT_EQ(redis.command({"EXISTS", kR1LeaseKey}), "0");

  media::WhipClient publisher({.width = 640, .height = 360});
  ASSERT_NO_FATAL_FAILURE(publish(publisher, a));
  EXPECT_EQ(leaseUrl(), a.url());

  // WHEP on B: 307 to the same resource on A, query kept.
  WhepClient viewer;
  std::string offer = viewer.offer();
  ASSERT_FALSE(offer.empty());
  auto moved = postSdp(b.url("/whep/r1"), offer, false);
  ASSERT_EQ(moved.status, 307) << moved.body;
  EXPECT_EQ(moved.header("location"), a.url("/whep/r1"));
  EXPECT_EQ(moved.json()["error"]["code"], "moved");
  EXPECT_EQ(moved.header("access-control-allow-origin"), "*");
  auto variant = postSdp(b.url("/whep/r1?variant=interpreter"), offer, false);
  EXPECT_EQ(variant.status, 307);
  EXPECT_EQ(variant.header("location"), a.url("/whep/r1?variant=interpreter"));

  // Following it: A answers and the viewer gets A's programme.
  auto answered = postSdp(moved.header("location"), offer, false);
  ASSERT_EQ(answered.status, 201) << answered.body;
  ASSERT_TRUE(viewer.setAnswer(answered.body));
  ASSERT_TRUE(eventually([&] { return viewer.videoFrames() >= 15; }, 20s))
      << "frames " << viewer.videoFrames();
  EXPECT_EQ(viewer.lastFrame().width, 640);

  // HLS on B: playlists and segments alike go to A, where they are served.
  auto master = httpGet(b.url("/hls/r1/master.m3u8"));
  ASSERT_EQ(master.status, 307);
  EXPECT_EQ(master.header("location"), a.url("/hls/r1/master.m3u8"));
  EXPECT_EQ(httpGet(b.url("/hls/r1/source/index.m3u8")).header("location"),
            a.url("/hls/r1/source/index.m3u8"));
  EXPECT_TRUE(eventually([&] { return httpGet(master.header("location")).status == 200; }, 15s));
  auto on_a = httpGet(master.header("location"));
  EXPECT_NE(on_a.body.find("#EXTM3U"), std::string::npos);

  // The media state names the owner on both nodes.
  auto state_b = httpGet(b.url("/api/v1/rooms/r1/media")).json();
  EXPECT_EQ(state_b["owner"]["url"], a.url());
  EXPECT_EQ(state_b["owner"]["here"], false);
  auto state_a = httpGet(a.url("/api/v1/rooms/r1/media")).json();
  EXPECT_EQ(state_a["owner"]["here"], true);
  EXPECT_EQ(state_a["stage"], "live");

  // A second publisher (the employer reconnecting from elsewhere) is sent to A too.
  media::WhipClient second;
  auto second_offer = second.createOffer();
  ASSERT_TRUE(second_offer);
  auto whip_moved = postSdp(b.url("/whip/r1"), second_offer.value(), true);
  EXPECT_EQ(whip_moved.status, 307) << whip_moved.body;
  EXPECT_EQ(whip_moved.header("location"), a.url("/whip/r1"));

  // The lease outlives its time to live (2 s) while A has the media: A renews it.
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(leaseUrl(), a.url());
  EXPECT_GT(std::stoll(redis.command({"PTTL", kR1LeaseKey})), 0);

  EXPECT_EQ(metric(b, "jobcast_media_redirects_total{kind=\"whep\"}"), 2);
  EXPECT_GE(metric(b, "jobcast_media_redirects_total{kind=\"hls\"}"), 2);
  EXPECT_EQ(metric(b, "jobcast_media_redirects_total{kind=\"whip\"}"), 1);
  EXPECT_EQ(metric(a, "jobcast_media_redirects_total{kind=\"whep\"}"), 0);
  EXPECT_EQ(metric(a, "jobcast_media_leases"), 1);

  // The publisher leaves: A gives the lease up at once, and B takes the room.
  HttpRequest del{.method = "DELETE", .url = a.url(publisher.resource)};
  del.headers = {{"Authorization", "Bearer " + r1EmployerToken()}};
  EXPECT_EQ(http(del).status, 204);
  EXPECT_TRUE(eventually(
      [&] {
        return redis.command({"EXISTS", kR1LeaseKey}) == "0";
      },
      1500ms))
      << "lease still held by " << leaseUrl();
  EXPECT_EQ(metric(a, "jobcast_media_leases"), 0);

  media::WhipClient on_b;
  ASSERT_NO_FATAL_FAILURE(publish(on_b, b));
  EXPECT_EQ(leaseUrl(), b.url());
  // Now A, with the old run's HLS still in memory, sends players to B.
  EXPECT_TRUE(eventually(
      [&] {
        auto r = httpGet(a.url("/hls/r1/master.m3u8"));
        return r.status == 307 && r.header("location") == b.url("/hls/r1/master.m3u8");
      },
      3s));
}

TEST_F(MediaOwnerTest, RoomMovesWhenItsNodeDies) {
  media::WhipClient publisher({.width = 320, .height = 180});
  ASSERT_NO_FATAL_FAILURE(publish(publisher, a));
  ASSERT_EQ(leaseUrl(), a.url());
  EXPECT_EQ(a.stop(SIGKILL), 128 + SIGKILL);  // no chance to give the lease up
  publisher.stop();

  // B first sends the employer to the dead node, then takes the room once
  // A's lease has run out (2 s).
  media::WhipClient again;
  auto offer = again.createOffer();
  ASSERT_TRUE(offer);
  auto first = postSdp(b.url("/whip/r1"), offer.value(), true);
  EXPECT_EQ(first.status, 307);
  EXPECT_EQ(first.header("location"), a.url("/whip/r1"));
  HttpResponse accepted;
  EXPECT_TRUE(eventually(
      [&] {
        accepted = postSdp(b.url("/whip/r1"), offer.value(), true);
        return accepted.status != 307;
      },
      5s));
  ASSERT_EQ(accepted.status, 201) << accepted.body;
  ASSERT_TRUE(again.setAnswer(accepted.body));
  EXPECT_TRUE(again.waitConnected(20s));
  EXPECT_EQ(leaseUrl(), b.url());
}

// A session's resource (DELETE, PATCH) asked of the node that does not hold
// it, as a load balancer may send it: 307 to the room's node, where it is
// answered.
TEST_F(MediaOwnerTest, SessionRequestsOnTheOtherNodeAreRedirected) {
  media::WhipClient publisher({.width = 320, .height = 180});
  ASSERT_NO_FATAL_FAILURE(publish(publisher, a));
  WhepClient viewer;
  std::string offer = viewer.offer();
  ASSERT_FALSE(offer.empty());
  auto watched = postSdp(a.url("/whep/r1"), offer, false);
  ASSERT_EQ(watched.status, 201) << watched.body;
  std::string whep_resource = watched.header("location");
  ASSERT_EQ(whep_resource.rfind("/whep/r1/", 0), 0u) << whep_resource;

  // WHEP PATCH and DELETE on B: 307 to the same resource on A.
  HttpRequest patch{.method = "PATCH", .url = b.url(whep_resource), .body = "a=end-of-candidates"};
  patch.headers = {{"Content-Type", "application/trickle-ice-sdpfrag"}};
  auto patched = http(patch);
  EXPECT_EQ(patched.status, 307) << patched.body;
  EXPECT_EQ(patched.header("location"), a.url(whep_resource));
  EXPECT_EQ(patched.json()["error"]["code"], "moved");
  patch.url = patched.header("location");
  EXPECT_EQ(http(patch).status, 405);  // A answers for the session: no trickle
  HttpRequest end_viewer{.method = "DELETE", .url = b.url(whep_resource)};
  auto viewer_moved = http(end_viewer);
  ASSERT_EQ(viewer_moved.status, 307) << viewer_moved.body;
  EXPECT_EQ(viewer_moved.header("location"), a.url(whep_resource));
  end_viewer.url = viewer_moved.header("location");
  EXPECT_EQ(http(end_viewer).status, 204);
  EXPECT_EQ(http(end_viewer).status, 404);  // gone on A, and A does not send it back

  // WHIP DELETE on B: 307 to A, where the publisher's token ends the session.
  HttpRequest end_publisher{.method = "DELETE", .url = b.url(publisher.resource)};
  end_publisher.headers = {{"Authorization", "Bearer " + r1EmployerToken()}};
  auto publisher_moved = http(end_publisher);
  ASSERT_EQ(publisher_moved.status, 307) << publisher_moved.body;
  EXPECT_EQ(publisher_moved.header("location"), a.url(publisher.resource));
  end_publisher.url = publisher_moved.header("location");
  EXPECT_EQ(http(end_publisher).status, 204);
  EXPECT_TRUE(eventually([&] { return redis.command({"EXISTS", kR1LeaseKey}) == "0"; }, 5s));

  EXPECT_EQ(metric(b, "jobcast_media_redirects_total{kind=\"whep\"}"), 2);
  EXPECT_EQ(metric(b, "jobcast_media_redirects_total{kind=\"whip\"}"), 1);

  // Nobody holds the room now: once B's one-second memory of the holder has
  // passed, B answers for itself.
  end_publisher.url = b.url(publisher.resource);
  HttpResponse own;
  EXPECT_TRUE(eventually(
      [&] {
        own = http(end_publisher);
        return own.status != 307;
      },
      5s));
  EXPECT_EQ(own.status, 404) << own.body;
  EXPECT_EQ(own.json()["error"]["code"], "session_not_found");
  EXPECT_EQ(http({.method = "DELETE", .url = b.url("/whep/r1/0123456789abcdef")}).status, 404);
}

// Ends the publisher's session on `node` and waits until `node` lists the
// recording it made.
nlohmann::json recordOnce(Jobcastd& node, media::WhipClient& publisher) {
  std::this_thread::sleep_for(2s);  // something to record
  HttpRequest del{.method = "DELETE", .url = node.url(publisher.resource)};
  del.headers = {{"Authorization", "Bearer " + r1EmployerToken()}};
  EXPECT_EQ(http(del).status, 204);
  nlohmann::json list;
  EXPECT_TRUE(eventually(
      [&] {
        list = httpGet(node.url("/api/v1/rooms/r1/recordings"),
                       {{"Authorization", "Bearer " + r1EmployerToken()}})
                   .json();
        return list["recordings"].size() == 1;
      },
      20s))
      << list.dump();
  return list;
}

// Recordings stay on the node that made them: another node sends their
// readers there while it lives, and says it is gone once it is.
TEST_F(MediaOwnerTest, RecordingsAreServedByTheNodeThatMadeThem) {
  media::WhipClient publisher({.width = 320, .height = 180});
  ASSERT_NO_FATAL_FAILURE(publish(publisher, a));
  nlohmann::json list = recordOnce(a, publisher);
  ASSERT_EQ(list["recordings"].size(), 1u);
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + r1EmployerToken()}};

  auto moved = httpGet(b.url("/api/v1/rooms/r1/recordings"), auth);
  ASSERT_EQ(moved.status, 307) << moved.body;
  EXPECT_EQ(moved.header("location"), a.url("/api/v1/rooms/r1/recordings"));
  std::string piece = list["recordings"][0]["url"];
  auto piece_moved = httpGet(b.url(piece));
  ASSERT_EQ(piece_moved.status, 307) << piece_moved.body;
  EXPECT_EQ(piece_moved.header("location"), a.url(piece));
  auto fetched = httpGet(piece_moved.header("location"));
  EXPECT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_EQ(fetched.header("content-type"), "video/mp4");
  EXPECT_EQ(fetched.body.size(), list["recordings"][0]["bytes"].get<size_t>());
  EXPECT_EQ(metric(b, "jobcast_media_redirects_total{kind=\"recordings\"}"), 2);

  // A dies: once it is known gone (its alive key runs out), B says so.
  EXPECT_EQ(a.stop(SIGKILL), 128 + SIGKILL);
  HttpResponse gone;
  EXPECT_TRUE(eventually(
      [&] {
        gone = httpGet(b.url("/api/v1/rooms/r1/recordings"), auth);
        return gone.status != 307;
      },
      10s));
  EXPECT_EQ(gone.status, 410) << gone.body;
  EXPECT_EQ(gone.json()["error"]["code"], "recording_node_gone");
  EXPECT_EQ(httpGet(b.url(piece)).status, 410);
  // A room nobody recorded is still this node's answer.
  EXPECT_EQ(httpGet(b.url("/api/v1/rooms/r2/recordings"),
                    {{"Authorization", "Bearer " + signToken(Role::Admin, "ad", {"r2"})}})
                .status,
            200);
}

// With media.recordings_dir shared by the nodes, every node serves every
// recording itself, its replay links included, also after the recorder died.
TEST_F(MediaOwnerTest, SharedRecordingsDirectoryIsServedByEveryNode) {
  std::string shared_config = dir.path() + "/shared.yaml";
  std::ofstream(shared_config) << "media:\n  recordings_dir: \"" << dir.path()
                               << "/shared-recordings\"\n  owner_lease_ms: 2000\n"
                                  "whep:\n  ice_addresses: \"127.0.0.1\"\n";
  Jobcastd c{{.args = {"--config", shared_config}, .redis = redis.address()}};
  Jobcastd d{{.args = {"--config", shared_config}, .redis = redis.address()}};
  c.start();
  d.start();
  media::WhipClient publisher({.width = 320, .height = 180});
  ASSERT_NO_FATAL_FAILURE(publish(publisher, c));
  nlohmann::json on_c = recordOnce(c, publisher);
  ASSERT_EQ(on_c["recordings"].size(), 1u);
  std::string piece = on_c["recordings"][0]["url"];  // a link c signed

  EXPECT_EQ(c.stop(SIGKILL), 128 + SIGKILL);
  auto on_d = httpGet(d.url("/api/v1/rooms/r1/recordings"),
                      {{"Authorization", "Bearer " + r1EmployerToken()}});
  ASSERT_EQ(on_d.status, 200) << on_d.body;
  ASSERT_EQ(on_d.json()["recordings"].size(), 1u);
  EXPECT_EQ(on_d.json()["recordings"][0]["file"], on_c["recordings"][0]["file"]);
  auto fetched = httpGet(d.url(piece));
  EXPECT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_EQ(fetched.body.size(), on_c["recordings"][0]["bytes"].get<size_t>());
}

// WHIP checks the token, the room and the access policy before the media
// lease is touched: a refused request neither takes a lease nor learns (by a
// 307) which node carries a room.
TEST_F(MediaOwnerTest, RefusedPublishersTouchNoLease) {
  const std::string elsewhere = R"({"node":"far","url":"http://far.example:1"})";
  redis.command({"SET", kR1LeaseKey, elsewhere, "PX", "60000"});
  auto post = [&](const std::string& room, const std::string& bearer) {
    HttpRequest req{.method = "POST", .url = a.url("/whip/" + room), .body = "v=0\r\n"};
    req.headers = {{"Content-Type", "application/sdp"}};
    if (!bearer.empty())
      req.headers.emplace_back("Authorization", "Bearer " + bearer);
    return http(req);
  };
  // A junk bearer: 401, not a 307 to the room's node.
  auto junk = post("r1", "junk.junk.junk");
  EXPECT_EQ(junk.status, 401) << junk.body;
  // A junk bearer for a room that does not exist takes no lease.
  EXPECT_EQ(post("ghost", "junk.junk.junk").status, 401);
  EXPECT_EQ(redis.command({"EXISTS", "jc:{r:ghost}:media_node"}), "0");
  // A valid token for a room that does not exist: 404, no lease.
  std::string stranger = signToken(Role::Counsellor, "c9", {"*"});
  EXPECT_EQ(post("ghost", stranger).status, 404);
  EXPECT_EQ(redis.command({"EXISTS", "jc:{r:ghost}:media_node"}), "0");
  // A counsellor with a token for every room whom r1 does not list: 403.
  auto refused = post("r1", stranger);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(redis.command({"GET", kR1LeaseKey}), elsewhere);
  // The room's employer is admitted, and so sent on to the room's node.
  auto sent = post("r1", r1EmployerToken());
  EXPECT_EQ(sent.status, 307) << sent.body;
  EXPECT_EQ(sent.header("location").rfind("http://far.example:1/whip/r1", 0), 0u);
}

}  // namespace
}  // namespace jobcast::test
