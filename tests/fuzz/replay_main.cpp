// A stand-in for libFuzzer's driver where it is not available (g++ builds):
// replays every file of the corpus directories, then -runs=N inputs made by
// mutating them with a fixed seed, so CI exercises each target every time.
// Usage: TARGET [-runs=N] [-seed=S] DIR...

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int run(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  static const char* kTokens[] = {"{",
                                  "}",
                                  "[",
                                  "]",
                                  "\"",
                                  ":",
                                  ",",
                                  "null",
                                  "-1",
                                  "1e999",
                                  "true",
                                  "\\u0000",
                                  "\xff",
                                  ".",
                                  "9223372036854775808",
                                  "\"wage_min\"",
                                  "\"title\""};
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:  // flip a byte
        if (!s.empty())
          s[pos % s.size()] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // insert a random byte
        s.insert(pos, 1, static_cast<char>(rng() % 256));
        break;
      case 2:  // erase a run
        if (!s.empty())
          s.erase(pos % s.size(), 1 + rng() % 8);
        break;
      case 3:  // insert a JSON-ish token
        s.insert(pos, kTokens[rng() % (sizeof kTokens / sizeof *kTokens)]);
        break;
      case 4:  // splice with another corpus entry
        if (!corpus.empty()) {
          const std::string& other = corpus[rng() % corpus.size()];
          s = s.substr(0, pos) + other.substr(other.empty() ? 0 : rng() % other.size());
        }
        break;
      case 5:  // truncate
        s.resize(pos);
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 10000;
  uint64_t seed = 20261201;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("-runs=", 0) == 0) {
      runs = std::atol(a.c_str() + 6);
    } else if (a.rfind("-seed=", 0) == 0) {
      seed = std::strtoull(a.c_str() + 6, nullptr, 10);
    } else if (a.rfind("-", 0) == 0) {
      continue;  // libFuzzer flags this driver does not know
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& entry : std::filesystem::directory_iterator(a)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream buffer;
        buffer << in.rdbuf();
        corpus.push_back(buffer.str());
      }
    }
  }
  for (const auto& input : corpus)
    run(input);
  std::mt19937_64 rng(seed);
  for (long i = 0; i < runs; ++i) {
    std::string base = corpus.empty() ? std::string() : corpus[rng() % corpus.size()];
    run(mutate(std::move(base), corpus, rng));
  }
  std::printf("replayed %zu corpus inputs and %ld mutations (seed %llu)\n", corpus.size(), runs,
              static_cast<unsigned long long>(seed));
  return 0;
}
