#include "signaling/static_files.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef JOBCAST_SOURCE_WEB_CLIENT
#define JOBCAST_SOURCE_WEB_CLIENT ""
#endif

namespace jobcast::http {
namespace {

bool acceptsGzip(const Request& request) {
  return request.header("accept-encoding").find("gzip") != std::string::npos;
}

bool compressible(const std::string& type) {
  return type.rfind("text/", 0) == 0 || type.find("javascript") != std::string::npos ||
         type.find("json") != std::string::npos || type.find("svg") != std::string::npos;
}

std::shared_ptr<const std::string> gzip(const std::string& data) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return nullptr;
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return nullptr;
  return std::make_shared<const std::string>(std::move(out));
}

bool safeRelative(const std::string& path) {
  if (path.empty() || path.find('\0') != std::string::npos)
    return false;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part == ".." || (!part.empty() && part[0] == '.'))
      return false;
  }
  return true;
}

}  // namespace

StaticFiles::StaticFiles(std::string root) : root_(std::move(root)) {}

std::string StaticFiles::contentType(const std::string& path) {
  static const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".webmanifest", "application/manifest+json"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  };
  auto dot = path.rfind('.');
  if (dot != std::string::npos) {
    auto it = types.find(path.substr(dot));
    if (it != types.end())
      return it->second;
  }
  return "application/octet-stream";
}

const StaticFiles::Entry* StaticFiles::load(const std::string& relative) {
  std::string full = root_ + "/" + relative;
  struct stat st {};
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return nullptr;
  long long mtime = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  auto it = cache_.find(relative);
  if (it != cache_.end() && it->second.mtime_ns == mtime && it->second.size == st.st_size) {
    return &it->second;
  }
  std::ifstream in(full, std::ios::binary);
  if (!in)
    return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  Entry e;
  e.bytes = std::make_shared<const std::string>(ss.str());
  e.mtime_ns = mtime;
  e.size = st.st_size;
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(mtime),
                static_cast<unsigned long long>(st.st_size));
  e.etag = etag;
  if (compressible(contentType(relative)) && e.bytes->size() > 256) {
    auto z = gzip(*e.bytes);
    if (z && z->size() < e.bytes->size())
      e.gzipped = std::move(z);
  }
  return &(cache_[relative] = std::move(e));
}

void StaticFiles::serveFile(const std::string& relative, const Request& request,
                            const Responder& responder) {
  const Entry* e = safeRelative(relative) ? load(relative) : nullptr;
  if (!e) {
    responder.error(404, "not_found", "no such page");
    return;
  }
  bool html = relative.size() > 5 && relative.compare(relative.size() - 5, 5, ".html") == 0;
  Response r;
  r.content_type = contentType(relative);
  r.header("etag", e->etag);
  r.header("vary", "Accept-Encoding");
  r.header("cache-control", html ? "no-cache" : cache_control_);
  r.header("x-content-type-options", "nosniff");
  if (request.header("if-none-match") == e->etag) {
    r.status = 304;
    r.content_type.clear();
    responder.send(std::move(r));
    return;
  }
  if (e->gzipped && acceptsGzip(request)) {
    r.header("content-encoding", "gzip");
    r.shared_body = e->gzipped;
  } else {
    r.shared_body = e->bytes;
  }
  responder.send(std::move(r));
}

void StaticFiles::serve(const Request& request, const Responder& responder) {
  std::string relative = request.path.empty() ? "" : request.path.substr(1);
  if (relative.empty() || relative.back() == '/')
    relative += "index.html";
  serveFile(relative, request, responder);
}

std::string findWebClientDir(const std::string& configured) {
  namespace fs = std::filesystem;
  if (!configured.empty())
    return configured;
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec)
    candidates.push_back(exe.parent_path() / "../share/jobcast/web-client");
  candidates.push_back(fs::current_path(ec) / "web-client");
  candidates.push_back(JOBCAST_SOURCE_WEB_CLIENT);
  for (const auto& c : candidates) {
    if (!c.empty() && fs::exists(c / "index.html", ec))
      return fs::weakly_canonical(c, ec).string();
  }
  return {};
}

}  // namespace jobcast::http
