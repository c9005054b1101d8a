// HLS over plain HTTP from a real jobcastd (--demo: a real pipeline encodes
// the ladder): the front's prepared answers (headers, ETag/304, HEAD,
// keep-alive, pipelining), requests it hands to libwebsockets on the same
// connection and port (REST, WebSocket), bad input and slow headers, and the
// media rate limit on the fast path.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "media/hls_subtitles.h"
#include "media/packed_audio.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using namespace std::chrono_literals;

// A plain TCP connection speaking HTTP/1.1 by hand: what a test needs to see
// keep-alive, pipelining and bytes no HTTP library would send.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads more bytes into the buffer; false on EOF, error or timeout.
  bool fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
      return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = n == 0;
      return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
  struct Response {
    int status = 0;
    std::string head;  // status line and headers
    std::string body;
    std::string header(const std::string& lower) const {
      std::istringstream lines(head);
      std::string line;
      while (std::getline(lines, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
          continue;
        std::string name = line.substr(0, colon);
        for (auto& ch : name)
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (name == lower) {
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          while (!value.empty() && (value.back() == '\r' || value.back() == ' '))
            value.pop_back();
          return value;
        }
      }
      return {};
    }
  };
  // The next response; `head_only` for a HEAD (Content-Length names no body).
  std::optional<Response> read(bool head_only = false, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline || !fill(100ms)) {
        if (eof_ || std::chrono::steady_clock::now() > deadline)
          return std::nullopt;
      }
    }
    Response r;
    r.head = buffer_.substr(0, end + 2);
    r.status = std::atoi(r.head.substr(9, 3).c_str());
    size_t length = 0;
    std::string cl = r.header("content-length");
    if (!head_only && !cl.empty() && r.status != 304 && r.status != 101)
      length = std::stoul(cl);
    while (buffer_.size() < end + 4 + length) {
      if (std::chrono::steady_clock::now() > deadline)
        return std::nullopt;
      if (!fill(100ms) && eof_)
        return std::nullopt;
    }
    r.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return r;
  }
  // True when the server closes the connection within `timeout`.
  bool closedWithin(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!fill(100ms) && eof_)
        return true;
    }
    return false;
  }
  const std::string& pending() const { return buffer_; }

 private:
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

// One demo node for the suite: its room "demo" streams a real ladder.
class HlsHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    config_dir_ = new TempDir("jobcast-hls-http");
    std::string config = config_dir_->path() + "/hls.yaml";
    std::ofstream(config) << "server:\n  header_timeout_s: 1\n";
    node_ = new Jobcastd(Jobcastd::Options{.args = {"--demo", "--config", config}});
    node_->start();
    ASSERT_TRUE(eventually(
        [] {
          return httpGet(node_->url("/hls/demo/master.m3u8")).status == 200 &&
                 segments("source").size() >= 2 && segments("audio").size() >= 2;
        },
        30s))
        << node_->log();
  }
  static void TearDownTestSuite() {
    delete node_;
    delete config_dir_;
    node_ = nullptr;
    config_dir_ = nullptr;
  }
  static std::vector<std::string> segments(const std::string& rendition) {
    auto r = httpGet(node_->url("/hls/demo/" + rendition + "/index.m3u8"));
    std::vector<std::string> out;
    std::istringstream lines(r.body);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line[0] != '#')
        out.push_back(line);
    }
    return out;
  }
  // The newest listed segment's path.
  static std::string newestSegment(const std::string& rendition = "source") {
    auto names = segments(rendition);
    return names.empty() ? std::string() : "/hls/demo/" + rendition + "/" + names.back();
  }
  static Jobcastd* node_;
  static TempDir* config_dir_;
};

Jobcastd* HlsHttp::node_ = nullptr;
TempDir* HlsHttp::config_dir_ = nullptr;

TEST_F(HlsHttp, SegmentIsImmutableWithETagAnd304) {
  std::string path = newestSegment();
  ASSERT_FALSE(path.empty());
  auto seg = httpGet(node_->url(path));
  ASSERT_EQ(seg.status, 200) << seg.body;
  EXPECT_EQ(seg.header("content-type"), "video/mp2t");
  EXPECT_EQ(seg.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(seg.header("content-length"), std::to_string(seg.body.size()));
  EXPECT_GT(seg.body.size(), 1000u);
  EXPECT_EQ(static_cast<unsigned char>(seg.body[0]), 0x47);  // an MPEG-TS sync byte
  EXPECT_EQ(seg.header("access-control-allow-origin"), "*");
  EXPECT_NE(seg.header("access-control-expose-headers").find("ETag"), std::string::npos);
  EXPECT_EQ(seg.header("x-content-type-options"), "nosniff");
  EXPECT_FALSE(seg.header("date").empty());
  std::string etag = seg.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"');

  // The same version: 304 with no body and the same validators.
  auto again = httpGet(node_->url(path), {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), etag);
  EXPECT_EQ(again.header("cache-control"), "public, max-age=31536000, immutable");
  // Another tag: the whole segment again, byte for byte.
  auto other = httpGet(node_->url(path), {{"If-None-Match", "\"something-else\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, seg.body);

  // Each segment has its own URL and tag: a cache may keep them for good.
  auto names = segments("source");
  ASSERT_GE(names.size(), 2u);
  auto older = httpGet(node_->url("/hls/demo/source/" + names[names.size() - 2]));
  EXPECT_EQ(older.status, 200);
  EXPECT_NE(older.header("etag"), etag);

  // HEAD: the same headers, no body.
  HttpRequest head;
  head.method = "HEAD";
  head.url = node_->url(path);
  auto h = http(head);
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(h.body.empty());
  EXPECT_EQ(h.header("content-length"), std::to_string(seg.body.size()));
  EXPECT_EQ(h.header("etag"), etag);

  // Unknown and expired segments are still a clear 404.
  auto missing = httpGet(node_->url("/hls/demo/source/nope-1.ts"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["error"]["code"], "segment_not_found");
}

// The audio-only rendition is packed audio: ADTS behind an ID3 timestamp,
// served immutable as audio/aac, its timestamps continuous from segment to
// segment and on the video renditions' timeline (a player switching between
// them sees one clock).
TEST_F(HlsHttp, AudioOnlyIsPackedAudioOnTheVideoTimeline) {
  auto names = segments("audio");
  ASSERT_GE(names.size(), 2u);
  auto playlist = httpGet(node_->url("/hls/demo/audio/index.m3u8"));
  EXPECT_EQ(playlist.body.find(".ts"), std::string::npos) << playlist.body;
  std::vector<double> durations;
  std::istringstream lines(playlist.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#EXTINF:", 0) == 0)
      durations.push_back(std::stod(line.substr(8)));
  }
  ASSERT_EQ(durations.size(), names.size());
  std::optional<int64_t> expected;
  for (size_t i = 0; i < names.size(); ++i) {
    auto seg = httpGet(node_->url("/hls/demo/audio/" + names[i]));
    ASSERT_EQ(seg.status, 200) << names[i];
    EXPECT_EQ(seg.header("content-type"), "audio/aac");
    EXPECT_EQ(seg.header("cache-control"), "public, max-age=31536000, immutable");
    auto pts = media::packedAudioTimestamp(seg.body);
    ASSERT_TRUE(pts) << names[i];
    ASSERT_GT(seg.body.size(), 80u);
    // Right after the tag: an ADTS sync word.
    EXPECT_EQ(static_cast<unsigned char>(seg.body[73]), 0xff);
    EXPECT_EQ(static_cast<unsigned char>(seg.body[74]) & 0xf0, 0xf0);
    if (expected) {
      EXPECT_NEAR(static_cast<double>(*pts), static_cast<double>(*expected), 90.0)  // 1 ms
          << names[i];
    }
    expected = *pts + static_cast<int64_t>(durations[i] * 90000.0 + 0.5);
  }
  // One timeline: packed audio segment N (after the first) starts at N target
  // durations of running time (on mpegtsmux's origin, within a frame), and a
  // source segment's PTS is that same running time (segments of about 1 s:
  // segment M near M seconds).
  auto sequence = [](const std::string& name) {
    return std::stoll(name.substr(name.find('-') + 1));
  };
  for (const auto& name : names) {
    auto seg = httpGet(node_->url("/hls/demo/audio/" + name));
    auto pts = media::packedAudioTimestamp(seg.body);
    ASSERT_TRUE(pts);
    int64_t n = sequence(name);
    if (n == 0)
      continue;
    EXPECT_GE(*pts, media::kTsPtsOrigin90k + n * 90000) << name;
    EXPECT_LT(*pts, media::kTsPtsOrigin90k + n * 90000 + 2048 * 90 / 48 + 1) << name;
  }
  std::string source_name = segments("source").back();
  auto source = httpGet(node_->url("/hls/demo/source/" + source_name));
  int64_t video_pts = media::tsFirstPts(source.body);
  ASSERT_GT(video_pts, 0);
  double video_s = static_cast<double>(video_pts - media::kTsPtsOrigin90k) / 90000.0;
  EXPECT_NEAR(video_s, static_cast<double>(sequence(source_name)), 3.0) << source_name;
}

TEST_F(HlsHttp, PlaylistsAreShortLivedWithETag) {
  for (const std::string path : {"/hls/demo/master.m3u8", "/hls/demo/source/index.m3u8"}) {
    auto p = httpGet(node_->url(path));
    ASSERT_EQ(p.status, 200) << path;
    EXPECT_EQ(p.header("content-type"), "application/vnd.apple.mpegurl") << path;
    // Segments of one second here: half a target is under a second.
    EXPECT_EQ(p.header("cache-control"), "no-cache") << path;
    EXPECT_EQ(p.header("content-length"), std::to_string(p.body.size())) << path;
    EXPECT_EQ(p.body.rfind("#EXTM3U", 0), 0u) << path;
    std::string etag = p.header("etag");
    ASSERT_FALSE(etag.empty()) << path;
    // While this version is current, a revalidation is a 304; once a new
    // segment is listed, the tag changes and the new playlist comes whole.
    auto again = httpGet(node_->url(path), {{"If-None-Match", etag}});
    if (again.status == 304) {
      EXPECT_TRUE(again.body.empty());
    } else {
      EXPECT_EQ(again.status, 200);
      EXPECT_NE(again.header("etag"), etag);
    }
  }
  std::string etag = httpGet(node_->url("/hls/demo/source/index.m3u8")).header("etag");
  EXPECT_TRUE(eventually(
      [&] { return httpGet(node_->url("/hls/demo/source/index.m3u8")).header("etag") != etag; },
      10s))
      << "the playlist's tag follows its version";
}

TEST_F(HlsHttp, KeepAliveServesSeveralThenHandsOtherRequestsToTheRouter) {
  std::string segment = newestSegment();
  ASSERT_FALSE(segment.empty());
  RawConnection c(node_->httpPort());
  ASSERT_TRUE(c.ok());
  // Several HLS requests on one connection, the last two pipelined.
  ASSERT_TRUE(c.send(get("/hls/demo/master.m3u8")));
  auto master = c.read();
  ASSERT_TRUE(master);
  EXPECT_EQ(master->status, 200);
  EXPECT_EQ(master->body.rfind("#EXTM3U", 0), 0u);
  ASSERT_TRUE(c.send(get(segment) + "HEAD " + segment + " HTTP/1.1\r\nHost: test\r\n\r\n"));
  auto seg = c.read();
  ASSERT_TRUE(seg);
  EXPECT_EQ(seg->status, 200);
  EXPECT_EQ(seg->body.size(), std::stoul(seg->header("content-length")));
  auto head = c.read(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), std::to_string(seg->body.size()));

  // A REST request on the same connection after HLS ones: the router answers.
  ASSERT_TRUE(c.send(get("/api/v1/rooms/demo")));
  auto room = c.read();
  ASSERT_TRUE(room);
  EXPECT_EQ(room->status, 200) << room->head << room->body;
  EXPECT_EQ(nlohmann::json::parse(room->body, nullptr, false).value("id", ""), "demo");
  // And HLS once more on it: the same answer and tag from the router's side.
  ASSERT_TRUE(c.send(get(segment)));
  auto seg2 = c.read();
  ASSERT_TRUE(seg2);
  EXPECT_EQ(seg2->status, 200);
  EXPECT_EQ(seg2->body, seg->body);
  EXPECT_EQ(seg2->header("etag"), seg->header("etag"));
  EXPECT_EQ(seg2->header("cache-control"), "public, max-age=31536000, immutable");
  ASSERT_TRUE(c.send(get(segment, "If-None-Match: " + seg->header("etag") + "\r\n")));
  auto not_modified = c.read();
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
}

// Low-latency HLS: a playlist reload for the part after the newest, and the
// part a playlist hints at, are held by the front itself (not handed to the
// router) until that part exists; a request pipelined behind a held one is
// answered after it; what the front does not answer (an error to explain)
// goes to the router.
TEST_F(HlsHttp, LowLatencyReloadsAreHeldOnTheFrontUntilThePartExists) {
  auto metric = [](const std::string& name) {
    std::string m = httpGet(node_->url("/metrics")).body;
    size_t at = m.find("\n" + name + " ");
    return at == std::string::npos ? -1LL : std::atoll(m.c_str() + at + name.size() + 2);
  };
  auto held = [&] { return metric("jobcast_http_front_held_total"); };
  auto handovers = [&] { return metric("jobcast_http_front_handovers_total"); };
  std::string playlist;
  ASSERT_TRUE(eventually(
      [&] {
        playlist = httpGet(node_->url("/hls/demo/ll/index.m3u8")).body;
        return playlist.find("#EXT-X-PRELOAD-HINT") != std::string::npos;
      },
      20s));
  auto number = [&](const std::string& tag) {
    size_t at = playlist.find(tag);
    return at == std::string::npos ? -1 : std::atoll(playlist.c_str() + at + tag.size());
  };
  long long sequence = number("#EXT-X-MEDIA-SEQUENCE:");
  long long segments = 0;
  for (size_t at = 0; (at = playlist.find("#EXTINF:", at)) != std::string::npos; ++at)
    ++segments;
  // Parts of the segment in progress: after the last closed segment's URI.
  size_t open_from = playlist.rfind("#EXTINF:");
  open_from =
      open_from == std::string::npos ? 0 : playlist.find('\n', playlist.find('\n', open_from) + 1);
  long long open_parts = 0;
  for (size_t at = open_from; (at = playlist.find("#EXT-X-PART:", at)) != std::string::npos; ++at)
    ++open_parts;
  size_t hint_at = playlist.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"");
  std::string hint = playlist.substr(hint_at + 35, playlist.find('"', hint_at + 35) - hint_at - 35);
  long long held_before = held();
  long long handovers_before = handovers();
  ASSERT_GE(held_before, 0);

  RawConnection c(node_->httpPort());
  ASSERT_TRUE(c.ok());
  std::string reload = "/hls/demo/ll/index.m3u8?_HLS_msn=" + std::to_string(sequence + segments) +
                       "&_HLS_part=" + std::to_string(open_parts);
  ASSERT_TRUE(c.send(get(reload) + get("/hls/demo/ll.m3u8")));
  auto answer = c.read();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_NE(answer->body.find("URI=\"" + hint + "\""), std::string::npos)
      << "the hinted part is listed once the reload is answered\n"
      << answer->body;
  auto master = c.read();
  ASSERT_TRUE(master);
  EXPECT_EQ(master->status, 200);
  EXPECT_NE(master->body.find("ll/index.m3u8"), std::string::npos);
  // The part the new playlist hints at, asked for before it exists (as
  // Safari does): held too, then the fMP4 part.
  size_t next_at = answer->body.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"");
  ASSERT_NE(next_at, std::string::npos) << answer->body;
  std::string next =
      answer->body.substr(next_at + 35, answer->body.find('"', next_at + 35) - next_at - 35);
  ASSERT_TRUE(c.send(get("/hls/demo/ll/" + next)));
  auto part = c.read();
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 200) << part->head << part->body;
  EXPECT_EQ(part->header("content-type"), "video/mp4");
  EXPECT_EQ(part->body.substr(4, 4), "moof");
  // Each /metrics request is itself handed over: this one, and no other.
  EXPECT_EQ(handovers(), handovers_before + 1) << "the front answered both itself";
  EXPECT_EQ(held(), held_before + 2);

  // Too far ahead: the router explains, on the same connection.
  ASSERT_TRUE(
      c.send(get("/hls/demo/ll/index.m3u8?_HLS_msn=" + std::to_string(sequence + segments + 9))));
  auto far = c.read();
  ASSERT_TRUE(far);
  EXPECT_EQ(far->status, 400);
  EXPECT_NE(far->body.find("invalid_query"), std::string::npos) << far->body;
}

TEST_F(HlsHttp, WebSocketAndRestShareThePortWithHls) {
  // A WebSocket upgrade after an HLS request on the same connection.
  RawConnection c(node_->httpPort());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send(get("/hls/demo/master.m3u8")));
  auto master = c.read();
  ASSERT_TRUE(master);
  EXPECT_EQ(master->status, 200);
  ASSERT_TRUE(c.send(get("/ws",
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: jobcast.v1\r\n")));
  auto upgraded = c.read();
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(upgraded->status, 101) << upgraded->head;
  EXPECT_EQ(upgraded->header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

  // The live channel through the port: a viewer joins the demo room.
  auto ws = WsClient::connect(node_->httpPort());
  ASSERT_TRUE(ws);
  auto welcome = ws->hello("demo");
  EXPECT_EQ(welcome.value("type", ""), "welcome") << welcome.dump();

  // REST, pages and health through the port.
  EXPECT_EQ(httpGet(node_->url("/healthz")).status, 200);
  auto rooms = httpGet(node_->url("/api/v1/rooms/demo"));
  EXPECT_EQ(rooms.status, 200);
  EXPECT_EQ(rooms.json().value("id", ""), "demo");
  auto missing = httpGet(node_->url("/api/v1/rooms/no-such-room"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["error"]["code"], "room_not_found");
}

TEST_F(HlsHttp, MalformedRequestsGetAClear400AndTheNodeCarriesOn) {
  for (const std::string& bad :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET /hls/demo/master.m3u8 HTTP/9.9\r\n\r\n"),
        std::string("GET  /hls/demo/master.m3u8 HTTP/1.1\r\n\r\n"),
        std::string("get /hls/demo/master.m3u8 HTTP/1.1\r\n\r\n"),
        std::string("GET /hls/demo/master.m3u8 HTTP/1.1\r\nno colon here\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 17)}) {
    RawConnection c(node_->httpPort());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(bad));
    auto r = c.read();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_EQ(nlohmann::json::parse(r->body, nullptr, false)["error"]["code"], "malformed_request")
        << r->body;
    EXPECT_TRUE(c.closedWithin(5s)) << bad;
  }
  // A header that never ends: refused once it is too large.
  RawConnection big(node_->httpPort());
  ASSERT_TRUE(big.send("GET /hls/demo/master.m3u8 HTTP/1.1\r\nX-Fill: " + std::string(20000, 'a') +
                       "\r\n"));
  auto r = big.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(big.closedWithin(5s));

  EXPECT_EQ(httpGet(node_->url("/hls/demo/master.m3u8")).status, 200);
  EXPECT_EQ(httpGet(node_->url("/healthz")).status, 200);
}

TEST_F(HlsHttp, SlowHeaderIsCutOffOnTheFastPath) {
  // header_timeout_s is 1 here: a header still incomplete after it is closed.
  RawConnection slow(node_->httpPort());
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE(slow.send("GET /hls/demo/master.m3u8 HTTP/1.1\r\nHost: test\r\n"));
  EXPECT_TRUE(slow.closedWithin(6s)) << "a header left unfinished keeps its connection";
  EXPECT_TRUE(slow.pending().empty()) << slow.pending();
  // Trickling one byte at a time does not keep it open either.
  RawConnection trickle(node_->httpPort());
  std::string request = get("/hls/demo/master.m3u8");
  bool closed = false;
  for (size_t i = 0; i < request.size() - 2 && !closed; ++i) {
    closed = !trickle.send(request.substr(i, 1)) || trickle.closedWithin(300ms);
  }
  EXPECT_TRUE(closed || trickle.closedWithin(3s));
  // An idle keep-alive connection between requests is not a slow header.
  RawConnection idle(node_->httpPort());
  ASSERT_TRUE(idle.send(get("/hls/demo/master.m3u8")));
  ASSERT_TRUE(idle.read());
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(idle.send(get("/hls/demo/master.m3u8")));
  auto later = idle.read();
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
}

TEST(HlsHttpLimits, MediaRateLimitHoldsOnTheFastPath) {
  TempDir dir("jobcast-hls-limits");
  std::string config = dir.path() + "/limits.yaml";
  std::ofstream(config) << "limits:\n  media_rate_per_second: 1\n  media_rate_burst: 40\n"
                           "server:\n  max_connections_per_ip: 3\n";
  Jobcastd node(Jobcastd::Options{.args = {"--demo", "--config", config}});
  node.start();
  // Wait for the stream without spending the budget: one look a second.
  std::string master;
  for (int i = 0; i < 30 && master.empty(); ++i) {
    auto r = httpGet(node.url("/hls/demo/master.m3u8"));
    if (r.status == 200)
      master = r.body;
    else
      std::this_thread::sleep_for(1s);
  }
  ASSERT_FALSE(master.empty()) << node.log();

  // One keep-alive connection asks until the burst is spent.
  RawConnection c(node.httpPort());
  int ok = 0;
  std::optional<RawConnection::Response> refused;
  for (int i = 0; i < 80 && !refused; ++i) {
    ASSERT_TRUE(c.send(get("/hls/demo/master.m3u8")));
    auto r = c.read();
    ASSERT_TRUE(r);
    if (r->status == 200)
      ++ok;
    else
      refused = r;
  }
  ASSERT_TRUE(refused) << "never limited";
  EXPECT_LE(ok, 41);
  EXPECT_EQ(refused->status, 429);
  EXPECT_FALSE(refused->header("retry-after").empty());
  EXPECT_EQ(nlohmann::json::parse(refused->body, nullptr, false)["error"]["code"], "rate_limited");
  // The connection stays usable: REST has its own budget.
  ASSERT_TRUE(c.send(get("/healthz")));
  auto health = c.read();
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // The connection cap counts the front's connections: three open, a fourth
  // is closed at once.
  RawConnection b(node.httpPort());
  auto d = std::make_unique<RawConnection>(node.httpPort());
  ASSERT_TRUE(b.send(get("/healthz")));
  ASSERT_TRUE(b.read());
  ASSERT_TRUE(d->send(get("/healthz")));
  ASSERT_TRUE(d->read());
  RawConnection e(node.httpPort());
  e.send(get("/healthz"));
  EXPECT_FALSE(e.read(false, 3s));
  // Closing one frees its place.
  d.reset();
  EXPECT_TRUE(eventually(
      [&] {
        RawConnection f(node.httpPort());
        return f.send(get("/healthz")) && f.read(false, 1s).has_value();
      },
      5s));
}

}  // namespace
}  // namespace jobcast::test
