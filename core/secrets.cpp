#include "core/secrets.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace jobcast {

std::string randomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("no randomness available");
  }
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : buf) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

Result<bool> makePrivateDirectory(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path target = fs::path(path).lexically_normal();
  fs::path built;
  for (const auto& part : target) {
    built /= part;
    if (built.empty() || built == built.root_path())
      continue;
    if (::mkdir(built.c_str(), 0700) != 0 && errno != EEXIST)
      return Error{"data_dir", "cannot create " + built.string() + ": " + std::strerror(errno)};
  }
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Error{"data_dir", path + " is not a directory"};
  if ((st.st_mode & 0777) != 0700 && ::chmod(target.c_str(), 0700) != 0)
    return Error{"data_dir", "cannot make " + path + " private: " + std::strerror(errno)};
  return true;
}

Result<std::string> resolveSecret(const std::string& configured, const std::string& data_dir,
                                  const std::string& name, size_t bytes) {
  if (!configured.empty())
    return configured;
  namespace fs = std::filesystem;
  std::string dir = data_dir + "/secrets";
  std::string path = dir + "/" + name;
  if (auto made = makePrivateDirectory(dir); !made)
    return Error{"secrets", made.error().message};
  if (std::ifstream in(path); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    std::string value = ss.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == ' '))
      value.pop_back();
    if (!value.empty())
      return value;
  }
  std::string value = randomHex(bytes);
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a left-over may have another mode; O_CREAT keeps it
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return Error{"secrets", "cannot write " + tmp};
  bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Error{"secrets", "cannot store " + path};
  }
  return value;
}

}  // namespace jobcast
