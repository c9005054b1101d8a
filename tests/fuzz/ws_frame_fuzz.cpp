// libFuzzer target: decoding of jobcast.v1 client frames (untrusted input from
// every WebSocket peer), with the helpers that see the same bytes (UTF-8
// length, word filter, stream ids) and the encoders the answers go through.
//
// Built with -DJOBCAST_FUZZ=ON (clang) it is a libFuzzer binary. In the normal
// g++ build the main() below replays the seed corpus and then mutates it for
// a bounded time, so CTest exercises the decoder on every build.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "rooms/live/live_room.h"
#include "signaling/ws_protocol.h"

namespace {

void checkOne(std::string_view text) {
  using namespace jobcast;
  auto decoded = ws::decodeFrame(text, 8192);
  if (auto* frame = std::get_if<ws::ClientFrame>(&decoded)) {
    if (frame->type == "hello") {
      auto hello = ws::decodeHello(*frame);
      if (auto* h = std::get_if<ws::Hello>(&hello)) {
        if (h->room.empty() || h->room.size() > 64)
          std::abort();  // decodeHello promised a room id
      }
    }
    if (frame->req)
      (void)ws::ackFrame(*frame->req, {{"echo", frame->type}});
    if (!frame->body.is_object())
      std::abort();
  } else {
    const auto& err = std::get<ws::FrameError>(decoded);
    auto out = ws::errorFrame(err.req, err.code, err.message);
    if (!nlohmann::json::accept(out))
      std::abort();  // error frames are always JSON
  }
  (void)live::utf8Length(text);
  static const live::WordFilter filter({"darn", "heck"});
  if (filter.mask(text).size() != text.size())
    std::abort();  // masking keeps the length
  (void)live::StreamId::parse(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  checkOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

#ifndef JOBCAST_LIBFUZZER
// Replay driver: ws_frame_fuzz [--seconds N] CORPUS_DIR_OR_FILE...
int main(int argc, char** argv) {
  double seconds = 3;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
      continue;
    }
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::directory_iterator(a))
        paths.push_back(e.path());
    } else {
      paths.push_back(a);
    }
    for (const auto& p : paths) {
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      seeds.push_back(ss.str());
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "ws_frame_fuzz: no seeds given\n");
    return 2;
  }
  for (const auto& s : seeds)
    checkOne(s);
  // Simple mutations (byte flips, inserts, deletes, splices) of the seeds.
  std::mt19937_64 rng(12345);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int k = 0; k < 256; ++k, ++runs) {
      std::string s = seeds[rng() % seeds.size()];
      int edits = 1 + static_cast<int>(rng() % 8);
      for (int e = 0; e < edits; ++e) {
        size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 5) {
          case 0:
            if (!s.empty() && pos < s.size())
              s[pos] = static_cast<char>(rng());
            break;
          case 1:
            s.insert(pos, 1, static_cast<char>(rng()));
            break;
          case 2:
            if (pos < s.size())
              s.erase(pos, 1 + rng() % 8);
            break;
          case 3: {
            const std::string& other = seeds[rng() % seeds.size()];
            size_t from = other.empty() ? 0 : rng() % other.size();
            s.insert(pos, other.substr(from, rng() % 32));
            break;
          }
          default:
            s.insert(pos, std::string(1 + rng() % 64, "{[\"\\0-9:,}]"[rng() % 11]));
        }
      }
      checkOne(s);
    }
  }
  std::printf("ws_frame_fuzz: %zu seeds replayed, %llu mutated inputs, no crash\n", seeds.size(),
              static_cast<unsigned long long>(runs));
  return 0;
}
#endif
