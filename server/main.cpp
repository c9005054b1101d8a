// jobcastd: the Jobcast node. See README.md and configs/jobcast.sample.yaml.

#include <glib-unix.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/build_info.h"
#include "core/config.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/secrets.h"
#include "server/app.h"

namespace {

constexpr int kExitConfig = 2;

const char kUsage[] =
    "usage: jobcastd [options]\n"
    "\n"
    "  --config FILE         YAML config (see configs/jobcast.sample.yaml)\n"
    "  --listen HOST:PORT    HTTP listener (port 0 picks a free port)\n"
    "  --tls-listen HOST:PORT|off  HTTPS listener\n"
    "  --data-dir DIR        where the embedded Redis, TLS and media files live\n"
    "  --redis ADDRESS       host:port or unix:/path; empty starts a private redis-server\n"
    "  --log-level LEVEL     debug, info, warn or error\n"
    "  --log-format FORMAT   json or text\n"
    "  --demo                seed a demo room and publish a synthetic camera into it\n"
    "  --first-admin NAME    create an admin account and print its one-time sign-in link\n"
    "  --help                this text\n"
    "  --version             the version\n"
    "\n"
    "  jobcastd token ...    print an access token (jobcastd token --help)\n"
    "\n"
    "Environment: JOBCAST_JWT_SECRET, JOBCAST_DATA_KEY, JOBCAST_REDIS.\n";

struct Flags {
  std::optional<std::string> config, listen, tls_listen, data_dir, redis, log_level, log_format,
      first_admin;
};

int configError(const std::string& message) {
  std::fprintf(stderr, "jobcastd: config error: %s\n", message.c_str());
  return kExitConfig;
}

const char kTokenUsage[] =
    "usage: jobcastd token --role ROLE --sub ID [--name NAME] [--employer ID]\n"
    "                      [--room ID ...] [--ttl SECONDS] [--config FILE] [--data-dir DIR]\n"
    "\n"
    "Prints an access token signed with this node's secret (auth.jwt_secret,\n"
    "JOBCAST_JWT_SECRET, or the one generated in the data directory).\n"
    "ROLE is admin, employer, counsellor, captioner or jobseeker; --room * = all rooms.\n";

// `jobcastd token ...`: admin tooling and tests mint tokens with it.
int tokenCommand(const std::vector<std::string>& args) {
  using namespace jobcast;
  Claims claims;
  std::optional<std::string> config_path, data_dir, role;
  int64_t ttl = 3600;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kTokenUsage, stdout);
      return 0;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "jobcastd token: %s needs a value\n\n%s", a.c_str(), kTokenUsage);
      return kExitConfig;
    }
    const std::string& v = args[++i];
    if (a == "--role") {
      role = v;
    } else if (a == "--sub") {
      claims.sub = v;
    } else if (a == "--name") {
      claims.name = v;
    } else if (a == "--employer") {
      claims.employer = v;
    } else if (a == "--room") {
      claims.rooms.push_back(v);
    } else if (a == "--ttl") {
      char* end = nullptr;
      ttl = std::strtoll(v.c_str(), &end, 10);
      if (*end || ttl <= 0) {
        std::fprintf(stderr, "jobcastd token: --ttl: expected a positive number of seconds\n");
        return kExitConfig;
      }
    } else if (a == "--config") {
      config_path = v;
    } else if (a == "--data-dir") {
      data_dir = v;
    } else {
      std::fprintf(stderr, "jobcastd token: unknown argument '%s'\n\n%s", a.c_str(), kTokenUsage);
      return kExitConfig;
    }
  }
  auto parsed = role ? parseRole(*role) : std::nullopt;
  if (!parsed || claims.sub.empty()) {
    std::fprintf(stderr, "jobcastd token: --role (a known role) and --sub are required\n\n%s",
                 kTokenUsage);
    return kExitConfig;
  }
  claims.role = *parsed;
  Config config;
  try {
    if (config_path)
      config = Config::loadFile(*config_path);
    config.applyEnvironment();
    if (data_dir)
      config.data_dir = *data_dir;
    config.validate();
  } catch (const ConfigError& e) {
    return configError(e.what());
  }
  auto secret = resolveSecret(config.jwt_secret, config.data_dir, "jwt-secret");
  if (!secret)
    return configError("auth.jwt_secret: " + secret.error().message);
  if (ttl > config.jwt_max_lifetime_s)
    return configError("--ttl: at most auth.max_token_lifetime_s (" +
                       std::to_string(config.jwt_max_lifetime_s) + " seconds)");
  claims.iat = static_cast<int64_t>(std::time(nullptr));
  claims.exp = claims.iat + ttl;
  std::printf("%s\n", Jwt(secret.value()).sign(claims).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace jobcast;
  Flags flags;
  std::vector<std::string> args(argv + 1, argv + argc);
  bool demo = false;
  if (!args.empty() && args[0] == "token") {
    return tokenCommand(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--demo") {
      demo = true;
      continue;
    }
    if (a == "--version") {
      std::printf("jobcastd %s (%s)\n", build::kVersion, build::kBuildType);
      return 0;
    }
    struct Opt {
      const char* name;
      std::optional<std::string>* slot;
    };
    const Opt opts[] = {{"--config", &flags.config},         {"--listen", &flags.listen},
                        {"--tls-listen", &flags.tls_listen}, {"--data-dir", &flags.data_dir},
                        {"--redis", &flags.redis},           {"--log-level", &flags.log_level},
                        {"--log-format", &flags.log_format}, {"--first-admin", &flags.first_admin}};
    bool matched = false;
    for (const auto& o : opts) {
      std::string name = o.name;
      if (a == name) {
        if (i + 1 >= args.size())
          return configError(name + ": needs a value");
        *o.slot = args[++i];
        matched = true;
      } else if (a.rfind(name + "=", 0) == 0) {
        *o.slot = a.substr(name.size() + 1);
        matched = true;
      }
    }
    if (!matched) {
      std::fprintf(stderr, "jobcastd: unknown argument '%s'\n\n%s", a.c_str(), kUsage);
      return kExitConfig;
    }
  }

  Config config;
  try {
    if (flags.config)
      config = Config::loadFile(*flags.config);
    config.applyEnvironment();
    if (flags.listen)
      config.listen = Config::parseListen("--listen", *flags.listen);
    if (flags.tls_listen)
      config.tls_listen = Config::parseListen("--tls-listen", *flags.tls_listen);
    if (flags.data_dir)
      config.data_dir = *flags.data_dir;
    if (flags.redis)
      config.redis_address = *flags.redis;
    if (flags.log_level) {
      auto level = log::parseLevel(*flags.log_level);
      if (!level)
        throw ConfigError("--log-level", "expected one of debug, info, warn, error");
      config.log_level = *level;
    }
    if (flags.log_format) {
      auto format = log::parseFormat(*flags.log_format);
      if (!format)
        throw ConfigError("--log-format", "expected json or text");
      config.log_format = *format;
    }
    config.validate();
  } catch (const ConfigError& e) {
    return configError(e.what());
  }

  log::configure(config.log_level, config.log_format);
  ::signal(SIGPIPE, SIG_IGN);

  if (flags.first_admin && flags.first_admin->empty())
    return configError("--first-admin: needs the admin's name");
  App app(config, {.demo = demo, .first_admin = flags.first_admin.value_or("")});
  auto started = app.start();
  if (!started) {
    log::error("start failed",
               {{"code", started.error().code}, {"error", started.error().message}});
    return 1;
  }
  if (demo && !app.missingElements().empty()) {
    // One plain line for whoever just ran the demo: the room cannot stream.
    std::fprintf(stderr, "demo: the room cannot stream: GStreamer elements missing: %s\n",
                 media::describeMissing(app.missingElements()).c_str());
  }

  // Signals arrive as sources on the control loop, not as async handlers.
  // SIGTERM (and Ctrl-C) drain the node; a second one stops it at once.
  for (int sig : {SIGINT, SIGTERM}) {
    GSource* source = g_unix_signal_source_new(sig);
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean {
          auto* app = static_cast<App*>(data);
          // The first signal drains (docs/operations.md); another stops at once.
          if (app->draining()) {
            log::info("stopping now");
            app->stop();
          } else {
            app->drain();
          }
          return G_SOURCE_CONTINUE;
        },
        &app, nullptr);
    app.loop().attach(source);
    g_source_unref(source);
  }

  log::info("jobcastd ready", {{"version", build::kVersion},
                               {"http_port", app.httpPort()},
                               {"https_port", app.httpsPort()},
                               {"data_dir", config.data_dir}});
  app.run();
  app.shutdown();
  log::info("stopped");
  return 0;
}
