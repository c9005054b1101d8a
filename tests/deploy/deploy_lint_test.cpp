// Lints of deploy/: the Dockerfile, deploy/compose.yaml, deploy/k8s/, the
// systemd unit, the nginx edge and coturn configs. Images, compose and
// Kubernetes cannot run here (no base images), so their files are parsed and
// checked against the repository, the Debian 12 packages of this machine and a
// real jobcastd; nginx, systemd and redis-server check or run their own parts.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "core/jwt.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace jobcast;
using namespace jobcast::test;

namespace {

const fs::path kRoot = JOBCAST_SOURCE_DIR;
const fs::path kDeploy = kRoot / "deploy";

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Runs argv to completion with extra environment; stdout and stderr go to *output.
int run(const std::vector<std::string>& argv, std::string* output,
        const std::map<std::string, std::string>& env = {}) {
  TempDir dir("deploy-run");
  std::string log_path = dir.path() + "/out.log";
  pid_t pid = spawn(argv, log_path, env);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (output)
    *output = readFile(log_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<fs::path> yamlFiles() {
  std::vector<fs::path> files;
  for (const auto& dir : {kDeploy, kRoot / "configs"}) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml"))
        files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<YAML::Node> k8sDocuments() {
  std::vector<YAML::Node> docs;
  for (const auto& e : fs::directory_iterator(kDeploy / "k8s")) {
    if (e.path().extension() != ".yaml" || e.path().filename() == "kustomization.yaml")
      continue;
    for (auto& doc : YAML::LoadAllFromFile(e.path().string()))
      if (doc && !doc.IsNull())
        docs.push_back(doc);
  }
  return docs;
}

std::vector<YAML::Node> ofKind(const std::vector<YAML::Node>& docs, const std::string& kind) {
  std::vector<YAML::Node> out;
  for (const auto& d : docs)
    if (d["kind"].as<std::string>() == kind)
      out.push_back(d);
  return out;
}

YAML::Node byName(const std::vector<YAML::Node>& docs, const std::string& kind,
                  const std::string& name) {
  for (const auto& d : ofKind(docs, kind))
    if (d["metadata"]["name"].as<std::string>() == name)
      return d;
  return YAML::Node();
}

// Compose's `<<: *anchor` merge keys (YAML 1.1): yaml-cpp 0.7 keeps `<<` as a
// plain key, so merge by hand; the service's own keys win.
YAML::Node merged(const YAML::Node& service) {
  YAML::Node out(YAML::NodeType::Map);
  if (service["<<"]) {
    for (const auto& kv : service["<<"])
      out[kv.first.as<std::string>()] = kv.second;
  }
  for (const auto& kv : service) {
    if (kv.first.as<std::string>() != "<<")
      out[kv.first.as<std::string>()] = kv.second;
  }
  return out;
}

std::map<std::string, YAML::Node> composeServices() {
  YAML::Node compose = YAML::LoadFile((kDeploy / "compose.yaml").string());
  std::map<std::string, YAML::Node> services;
  for (const auto& kv : compose["services"])
    services[kv.first.as<std::string>()] = merged(kv.second);
  return services;
}

std::string commandText(const YAML::Node& command) {
  std::string text;
  if (!command)
    return text;
  if (command.IsScalar())
    return command.as<std::string>();
  for (const auto& part : command)
    text += part.as<std::string>() + " ";
  return text;
}

bool isNodeService(const YAML::Node& service) {
  return service["build"] && service["build"]["target"] &&
         service["build"]["target"].as<std::string>() == "runtime";
}

bool isRedisService(const YAML::Node& service) {
  return commandText(service["command"]).find("--cluster-enabled yes") != std::string::npos;
}

// The jobcastd container of the StatefulSet (or Deployment) in deploy/k8s.
YAML::Node jobcastdContainer(const std::vector<YAML::Node>& docs) {
  for (const auto& kind : {"StatefulSet", "Deployment"}) {
    for (const auto& d : ofKind(docs, kind)) {
      for (const auto& c : d["spec"]["template"]["spec"]["containers"])
        if (c["name"].as<std::string>() == "jobcastd")
          return c;
    }
  }
  return YAML::Node();
}

// The node configs deploy/ ships: the compose one and the ConfigMap's.
std::map<std::string, std::string> nodeConfigs() {
  std::map<std::string, std::string> configs;
  configs["deploy/compose/jobcast.yaml"] = readFile(kDeploy / "compose" / "jobcast.yaml");
  auto docs = k8sDocuments();
  YAML::Node cm = byName(docs, "ConfigMap", "jobcast-config");
  if (cm)
    configs["deploy/k8s ConfigMap jobcast-config"] = cm["data"]["jobcast.yaml"].as<std::string>();
  return configs;
}

// `redis.cluster` is the list of the cluster's seeds. A node that does not
// know the key yet (configs/jobcast.sample.yaml, which documents every key,
// lacks it) is given the config without it, so the other keys are still checked.
std::string forThisNode(const std::string& config_text) {
  bool known =
      readFile(kRoot / "configs" / "jobcast.sample.yaml").find("\n  cluster:") != std::string::npos;
  if (known)
    return config_text;
  YAML::Node config = YAML::Load(config_text);
  if (config["redis"] && config["redis"]["cluster"])
    config["redis"].remove("cluster");
  if (config["redis"] && config["redis"].size() == 0)
    config.remove("redis");
  YAML::Emitter out;
  out << config;
  return out.c_str();
}

std::set<std::string> installDepsPackages() {
  std::string text = readFile(kDeploy / "install-deps.sh");
  auto start = text.find("packages=(");
  auto end = text.find("\n)", start);
  std::set<std::string> out;
  std::istringstream lines(text.substr(start + 10, end - start - 10));
  std::string line;
  while (std::getline(lines, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string w;
    while (words >> w)
      out.insert(w);
  }
  return out;
}

struct Stage {
  std::string name, from;
  std::vector<std::string> packages;  // of its `apt-get install` lines
  std::vector<std::string> lines;     // instructions, continuation lines joined
};

std::vector<Stage> dockerStages(std::map<std::string, std::string>* args) {
  std::istringstream in(readFile(kDeploy / "Dockerfile"));
  std::vector<std::string> instructions;
  std::string line, current;
  while (std::getline(in, line)) {
    if (current.empty() && (line.empty() || line[0] == '#'))
      continue;
    bool more = !line.empty() && line.back() == '\\';
    current += more ? line.substr(0, line.size() - 1) + " " : line;
    if (!more) {
      instructions.push_back(current);
      current.clear();
    }
  }
  std::vector<Stage> stages;
  for (const auto& ins : instructions) {
    std::istringstream words(ins);
    std::string op;
    words >> op;
    if (op == "ARG" && stages.empty()) {
      std::string kv;
      words >> kv;
      auto eq = kv.find('=');
      (*args)[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      continue;
    }
    if (op == "FROM") {
      Stage s;
      std::string as;
      words >> s.from >> as >> s.name;
      stages.push_back(s);
      continue;
    }
    if (stages.empty())
      continue;
    stages.back().lines.push_back(ins);
    if (op != "RUN")
      continue;
    auto at = ins.find("apt-get install");
    if (at == std::string::npos)
      continue;
    std::string rest = ins.substr(at + 15);
    rest = rest.substr(0, rest.find("&&"));
    std::istringstream pkgs(rest);
    std::string p;
    while (pkgs >> p)
      if (p[0] != '-')
        stages.back().packages.push_back(p);
  }
  return stages;
}

std::string dpkgStatus(const std::string& package) {
  std::string out;
  run({"dpkg-query", "-W", "-f=${Status}|${Essential}|${Priority}", package}, &out);
  return out;
}

// --- YAML ---

TEST(DeployLint, EveryYamlFileParses) {
  auto files = yamlFiles();
  ASSERT_GE(files.size(), 5u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    std::vector<YAML::Node> docs;
    ASSERT_NO_THROW(docs = YAML::LoadAllFromFile(f.string()));
    ASSERT_FALSE(docs.empty());
  }
  for (const auto& [name, text] : nodeConfigs()) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(YAML::Load(text));
  }
}

// --- Kubernetes ---

TEST(DeployLint, KubernetesManifestsAreWellFormed) {
  auto docs = k8sDocuments();
  ASSERT_FALSE(docs.empty());
  std::set<std::string> names;
  for (const auto& d : docs) {
    ASSERT_TRUE(d.IsMap());
    ASSERT_TRUE(d["apiVersion"] && d["kind"] && d["metadata"] && d["metadata"]["name"])
        << "apiVersion, kind and metadata.name are required:\n"
        << YAML::Dump(d).substr(0, 200);
    std::string id = d["kind"].as<std::string>() + "/" + d["metadata"]["name"].as<std::string>();
    EXPECT_TRUE(names.insert(id).second) << id << " is defined twice";
  }
  // Every file kustomization.yaml lists exists.
  YAML::Node kust = YAML::LoadFile((kDeploy / "k8s" / "kustomization.yaml").string());
  for (const auto& r : kust["resources"])
    EXPECT_TRUE(fs::exists(kDeploy / "k8s" / r.as<std::string>())) << r.as<std::string>();

  std::map<std::string, std::set<std::string>> secret_keys;
  for (const auto& s : ofKind(docs, "Secret"))
    for (const auto& kv : s["stringData"])
      secret_keys[s["metadata"]["name"].as<std::string>()].insert(kv.first.as<std::string>());

  std::vector<YAML::Node> pod_templates;
  for (const auto& kind : {"StatefulSet", "Deployment", "Job"}) {
    for (const auto& w : ofKind(docs, kind)) {
      std::string wname = w["metadata"]["name"].as<std::string>();
      SCOPED_TRACE(std::string(kind) + "/" + wname);
      YAML::Node tmpl = w["spec"]["template"];
      ASSERT_TRUE(tmpl && tmpl["spec"]["containers"]);
      if (std::string(kind) != "Job") {
        // The selector picks the template's own pods.
        for (const auto& kv : w["spec"]["selector"]["matchLabels"])
          EXPECT_EQ(tmpl["metadata"]["labels"][kv.first.as<std::string>()].as<std::string>(""),
                    kv.second.as<std::string>());
        pod_templates.push_back(tmpl);
      }
      if (w["spec"]["serviceName"]) {
        EXPECT_TRUE(byName(docs, "Service", w["spec"]["serviceName"].as<std::string>()))
            << "serviceName names no Service";
      }
      std::set<std::string> volumes;
      for (const auto& v : tmpl["spec"]["volumes"]) {
        volumes.insert(v["name"].as<std::string>());
        if (v["configMap"]) {
          YAML::Node cm = byName(docs, "ConfigMap", v["configMap"]["name"].as<std::string>());
          ASSERT_TRUE(cm) << "volume " << v["name"] << " names no ConfigMap";
          for (const auto& item : v["configMap"]["items"])
            EXPECT_TRUE(cm["data"][item["key"].as<std::string>()]) << item["key"];
        }
      }
      for (const auto& claim : w["spec"]["volumeClaimTemplates"])
        volumes.insert(claim["metadata"]["name"].as<std::string>());
      for (const auto& c : tmpl["spec"]["containers"]) {
        SCOPED_TRACE("container " + c["name"].as<std::string>(""));
        EXPECT_TRUE(c["name"] && c["image"]) << "a container needs a name and an image";
        std::set<std::string> port_names;
        std::set<int> port_numbers;
        for (const auto& p : c["ports"]) {
          if (p["name"])
            port_names.insert(p["name"].as<std::string>());
          port_numbers.insert(p["containerPort"].as<int>());
        }
        if (std::string(kind) != "Job") {
          EXPECT_FALSE(port_numbers.empty()) << "a serving container declares its ports";
          EXPECT_TRUE(c["readinessProbe"] && c["livenessProbe"]) << "readiness and liveness";
        }
        for (const auto& probe : {"startupProbe", "readinessProbe", "livenessProbe"}) {
          if (!c[probe] || !c[probe]["httpGet"])
            continue;
          YAML::Node port = c[probe]["httpGet"]["port"];
          bool known =
              port_names.count(port.as<std::string>()) ||
              (port.as<std::string>().find_first_not_of("0123456789") == std::string::npos &&
               port_numbers.count(port.as<int>()));
          EXPECT_TRUE(known) << probe << " port " << port << " is not a container port";
        }
        for (const auto& m : c["volumeMounts"])
          EXPECT_TRUE(volumes.count(m["name"].as<std::string>())) << "mount " << m["name"];
        for (const auto& e : c["env"]) {
          YAML::Node ref = e["valueFrom"]["secretKeyRef"];
          if (!ref)
            continue;
          std::string secret = ref["name"].as<std::string>();
          EXPECT_TRUE(secret_keys[secret].count(ref["key"].as<std::string>()))
              << e["name"] << ": Secret " << secret << " has no key " << ref["key"];
        }
      }
    }
  }

  // Every Service selects pods of a workload and forwards to their named ports.
  for (const auto& s : ofKind(docs, "Service")) {
    SCOPED_TRACE("Service/" + s["metadata"]["name"].as<std::string>());
    bool selected = false;
    for (const auto& tmpl : pod_templates) {
      bool all = true;
      for (const auto& kv : s["spec"]["selector"])
        all = all && tmpl["metadata"]["labels"][kv.first.as<std::string>()].as<std::string>("") ==
                         kv.second.as<std::string>();
      if (!all)
        continue;
      selected = true;
      for (const auto& port : s["spec"]["ports"]) {
        std::string target = port["targetPort"].as<std::string>();
        std::string protocol = port["protocol"].as<std::string>("TCP");
        bool found = false;
        for (const auto& c : tmpl["spec"]["containers"])
          for (const auto& p : c["ports"])
            found = found || ((p["name"].as<std::string>("") == target ||
                               p["containerPort"].as<std::string>() == target) &&
                              p["protocol"].as<std::string>("TCP") == protocol);
        EXPECT_TRUE(found) << "targetPort " << target << "/" << protocol << " is no container port";
      }
    }
    EXPECT_TRUE(selected) << "selects no workload's pods";
  }
}

TEST(DeployLint, KubernetesNodeProbesAndDrain) {
  auto docs = k8sDocuments();
  YAML::Node c = jobcastdContainer(docs);
  ASSERT_TRUE(c) << "a StatefulSet or Deployment with a container named jobcastd";
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(""), "/readyz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(""), "/healthz");
  EXPECT_TRUE(c["lifecycle"]["preStop"]) << "a preStop hook before the SIGTERM drain";
  YAML::Node pod;
  for (const auto& kind : {"StatefulSet", "Deployment"})
    for (const auto& d : ofKind(docs, kind))
      if (d["metadata"]["name"].as<std::string>() == "jobcastd")
        pod = d["spec"]["template"]["spec"];
  ASSERT_TRUE(pod);
  // The drain needs time: well over a probe period for /readyz to go 503 and
  // the endpoints to drop the pod, plus the viewers' moves.
  EXPECT_GE(pod["terminationGracePeriodSeconds"].as<int>(0), 30);
  // The HTTP container port is the one the config listens on.
  YAML::Node config = YAML::Load(
      byName(docs, "ConfigMap", "jobcast-config")["data"]["jobcast.yaml"].as<std::string>());
  std::string listen = config["server"]["listen"].as<std::string>();
  int http_port = std::stoi(listen.substr(listen.rfind(':') + 1));
  int udp_port = config["whep"]["udp_port"].as<int>(-1);
  bool http_declared = false, udp_declared = false;
  for (const auto& p : c["ports"]) {
    if (p["containerPort"].as<int>() == http_port && p["protocol"].as<std::string>("TCP") == "TCP")
      http_declared = true;
    if (p["containerPort"].as<int>() == udp_port && p["protocol"].as<std::string>("") == "UDP")
      udp_declared = true;
  }
  EXPECT_TRUE(http_declared) << "server.listen port " << http_port;
  EXPECT_TRUE(udp_declared) << "whep.udp_port " << udp_port << " (UDP)";
  // Redis Cluster: 6 pods, cluster mode, formed with one replica per master.
  YAML::Node redis = byName(docs, "StatefulSet", "redis-cluster");
  ASSERT_TRUE(redis);
  EXPECT_EQ(redis["spec"]["replicas"].as<int>(), 6);
  std::string args = commandText(redis["spec"]["template"]["spec"]["containers"][0]["args"]);
  EXPECT_NE(args.find("--cluster-enabled yes"), std::string::npos);
  YAML::Node init = byName(docs, "Job", "redis-cluster-init");
  ASSERT_TRUE(init);
  std::string script = commandText(init["spec"]["template"]["spec"]["containers"][0]["command"]);
  EXPECT_NE(script.find("--cluster create"), std::string::npos);
  EXPECT_NE(script.find("--cluster-replicas 1"), std::string::npos);
  // The nodes' cluster seeds are the redis-cluster pods' stable names.
  for (const auto& seed : config["redis"]["cluster"]) {
    std::smatch m;
    std::string s = seed.as<std::string>();
    ASSERT_TRUE(std::regex_match(s, m, std::regex(R"(redis-cluster-(\d+)\.redis-cluster:6379)")))
        << s;
    EXPECT_LT(std::stoi(m[1]), 6) << s;
  }
  EXPECT_EQ(config["redis"]["cluster"].size(), 6u);
}

// --- compose ---

TEST(DeployLint, ComposeServicesReferToWhatExists) {
  YAML::Node compose = YAML::LoadFile((kDeploy / "compose.yaml").string());
  auto services = composeServices();
  std::map<std::string, std::string> args;
  std::set<std::string> stages;
  for (const auto& s : dockerStages(&args))
    if (!s.name.empty())
      stages.insert(s.name);
  std::set<std::string> built_images;
  for (const auto& [name, s] : services)
    if (s["build"])
      built_images.insert(s["image"].as<std::string>());
  int redis = 0, nodes = 0;
  for (const auto& [name, s] : services) {
    SCOPED_TRACE("service " + name);
    ASSERT_TRUE(s["image"]) << "every service names its image";
    EXPECT_TRUE(built_images.count(s["image"].as<std::string>()))
        << "image " << s["image"] << " is built by no service of this file";
    if (s["build"]) {
      fs::path context = kDeploy / s["build"]["context"].as<std::string>();
      EXPECT_TRUE(fs::is_directory(context));
      EXPECT_TRUE(fs::exists(context / s["build"]["dockerfile"].as<std::string>()));
      EXPECT_TRUE(stages.count(s["build"]["target"].as<std::string>()))
          << "target " << s["build"]["target"] << " is no stage of the Dockerfile";
    }
    for (const auto& v : s["volumes"]) {
      std::string spec = v.as<std::string>();
      std::string source = spec.substr(0, spec.find(':'));
      if (source[0] == '.' || source[0] == '/')
        EXPECT_TRUE(fs::exists(kDeploy / source)) << source << " does not exist";
      else
        EXPECT_TRUE(compose["volumes"][source]) << "volume " << source << " is not declared";
    }
    for (const auto& sec : s["secrets"]) {
      YAML::Node def = compose["secrets"][sec.as<std::string>()];
      ASSERT_TRUE(def) << "secret " << sec << " is not declared";
      if (def["file"])
        EXPECT_TRUE(fs::exists(kDeploy / def["file"].as<std::string>()));
      else
        EXPECT_TRUE(def["environment"]) << "secret " << sec << " has no source";
    }
    std::vector<std::string> deps;
    if (!s["depends_on"]) {
    } else if (s["depends_on"].IsMap()) {
      for (const auto& kv : s["depends_on"])
        deps.push_back(kv.first.as<std::string>());
    } else {
      for (const auto& d : s["depends_on"])
        deps.push_back(d.as<std::string>());
    }
    for (const auto& other : deps)
      EXPECT_TRUE(services.count(other)) << "depends on " << other << ", no such service";
    if (isRedisService(s))
      ++redis;
    if (isNodeService(s)) {
      ++nodes;
      bool config_mounted = false;
      for (const auto& v : s["volumes"])
        config_mounted = config_mounted || v.as<std::string>().find(":/etc/jobcast/jobcast.yaml") !=
                                               std::string::npos;
      EXPECT_TRUE(config_mounted) << "a node gets its config at /etc/jobcast/jobcast.yaml";
      EXPECT_TRUE(s["healthcheck"]);
    }
  }
  EXPECT_EQ(redis, 6) << "3 masters and 3 replicas";
  EXPECT_GE(nodes, 2);
  EXPECT_LE(nodes, 3);
  // The one-shot init forms the cluster with one replica per master.
  bool init = false;
  for (const auto& [name, s] : services) {
    std::string cmd = commandText(s["command"]);
    if (cmd.find("--cluster create") != std::string::npos) {
      init = cmd.find("--cluster-replicas 1") != std::string::npos;
      EXPECT_EQ(s["restart"].as<std::string>(""), "no") << name << " runs once";
    }
  }
  EXPECT_TRUE(init) << "a service runs redis-cli --cluster create --cluster-replicas 1";
  // The nodes' cluster seeds are this file's Redis services.
  YAML::Node config = YAML::LoadFile((kDeploy / "compose" / "jobcast.yaml").string());
  ASSERT_TRUE(config["redis"]["cluster"]);
  for (const auto& seed : config["redis"]["cluster"]) {
    std::string s = seed.as<std::string>();
    std::string host = s.substr(0, s.find(':'));
    ASSERT_TRUE(services.count(host)) << s << " names no service";
    EXPECT_TRUE(isRedisService(services[host])) << s << " is not a cluster Redis";
    EXPECT_EQ(s.substr(s.find(':') + 1), "6379");
  }
  // The edge's command points nginx-edge.conf's upstream at the nodes: the
  // line it replaces must be in the file.
  std::string edge = commandText(services["edge"]["command"]);
  EXPECT_NE(edge.find("s/server 127.0.0.1:8080;/"), std::string::npos);
  EXPECT_NE(readFile(kDeploy / "nginx-edge.conf").find("server 127.0.0.1:8080;"),
            std::string::npos);
}

// The Redis command lines of compose and the manifests start Debian 12's
// redis-server in cluster mode (port, files and announced address moved to
// this test's own).
TEST(DeployLint, RedisCommandLinesStartAClusterNode) {
  std::vector<std::pair<std::string, std::vector<std::string>>> lines;
  for (const auto& [name, s] : composeServices()) {
    if (!isRedisService(s))
      continue;
    std::vector<std::string> argv;
    for (const auto& a : s["command"])
      argv.push_back(a.as<std::string>());
    lines.emplace_back("compose " + name, argv);
    break;
  }
  YAML::Node redis = byName(k8sDocuments(), "StatefulSet", "redis-cluster");
  ASSERT_TRUE(redis);
  YAML::Node container = redis["spec"]["template"]["spec"]["containers"][0];
  std::vector<std::string> argv;
  for (const auto& a : container["command"])
    argv.push_back(a.as<std::string>());
  for (const auto& a : container["args"])
    argv.push_back(a.as<std::string>());
  lines.emplace_back("k8s redis-cluster", argv);
  ASSERT_EQ(lines.size(), 2u);
  for (auto& [name, args] : lines) {
    SCOPED_TRACE(name);
    ASSERT_EQ(args.at(0), "redis-server");
    TempDir dir("deploy-redis");
    int port = freeClusterPort();
    for (size_t i = 1; i + 1 < args.size(); ++i) {
      const std::string& flag = args[i];
      std::string& value = args[i + 1];
      if (flag == "--port")
        value = std::to_string(port);
      else if (flag == "--dir")
        value = dir.path();
      else if (flag == "--cluster-config-file")
        value = dir.path() + "/nodes.conf";
      else if (value == "$(POD_IP)")
        value = "127.0.0.1";
    }
    args.insert(args.end(), {"--bind", "127.0.0.1", "--daemonize", "no"});
    pid_t pid = spawn(args, dir.path() + "/log");
    std::string info;
    bool up = eventually(
        [&] {
          return run({"redis-cli", "-p", std::to_string(port), "info", "cluster"}, &info) == 0 &&
                 info.find("cluster_enabled:") != std::string::npos;
        },
        std::chrono::seconds(20));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ASSERT_TRUE(up) << readFile(dir.path() + "/log");
    EXPECT_NE(info.find("cluster_enabled:1"), std::string::npos) << info;
    EXPECT_TRUE(fs::exists(dir.path() + "/nodes.conf"));
  }
}

// --- the node: probes, secrets and configs against a real jobcastd ---

// Every health check deploy/ names (Kubernetes probes, compose healthchecks,
// the Dockerfile's HEALTHCHECK) asks a path a real node answers with 200.
TEST(DeployLint, ProbePathsAreServedByARealNode) {
  std::set<std::string> paths;
  auto docs = k8sDocuments();
  YAML::Node c = jobcastdContainer(docs);
  ASSERT_TRUE(c);
  for (const auto& probe : {"startupProbe", "readinessProbe", "livenessProbe"})
    if (c[probe] && c[probe]["httpGet"])
      paths.insert(c[probe]["httpGet"]["path"].as<std::string>());
  std::regex local_url(R"(http://127\.0\.0\.1:8080(/[A-Za-z0-9_/-]*))");
  for (const auto& [name, s] : composeServices()) {
    if (!isNodeService(s))
      continue;
    std::string test = commandText(s["healthcheck"]["test"]);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(test, m, local_url)) << name << ": " << test;
    paths.insert(m[1]);
  }
  std::string dockerfile = readFile(kDeploy / "Dockerfile");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dockerfile, m, std::regex(R"(HEALTHCHECK[^\n]*\\\n[^\n]*)")));
  std::string healthcheck = m[0];
  ASSERT_TRUE(std::regex_search(healthcheck, m, local_url)) << healthcheck;
  paths.insert(m[1]);
  ASSERT_TRUE(paths.count("/readyz") && paths.count("/healthz"));

  Jobcastd node({.args = {"--tls-listen", "off"}});
  node.start();
  for (const auto& path : paths) {
    auto r = httpGet(node.url(path));
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
  }
  // The check itself tells a path the node does not serve.
  EXPECT_NE(httpGet(node.url("/readiness")).status, 200);
}

// Each JOBCAST_* secret variable deploy/ gives the node is one jobcastd reads:
// a bad value in it stops the node with a config error naming its key.
TEST(DeployLint, SecretVariablesAreTheOnesTheNodeReads) {
  const std::map<std::string, std::pair<std::string, std::string>> checks = {
      {"JOBCAST_JWT_SECRET", {"short", "auth.jwt_secret"}},
      {"JOBCAST_DATA_KEY", {"not-hex", "crypto.data_key"}},
      {"JOBCAST_TURN_SECRET", {"short", "turn.secret"}},
  };
  std::set<std::string> names;
  YAML::Node c = jobcastdContainer(k8sDocuments());
  ASSERT_TRUE(c);
  for (const auto& e : c["env"])
    if (e["valueFrom"]["secretKeyRef"])
      names.insert(e["name"].as<std::string>());
  for (const auto& [name, s] : composeServices()) {
    if (!isNodeService(s))
      continue;
    for (const auto& kv : s["environment"]) {
      std::string var = kv.first.as<std::string>();
      if (var.size() > 5 && var.substr(var.size() - 5) == "_FILE")
        names.insert(var.substr(0, var.size() - 5));
    }
  }
  ASSERT_GE(names.size(), 2u);
  TempDir dir("deploy-secrets");
  writeFile(dir.path() + "/turn.yaml", "turn:\n  urls: [\"turn:127.0.0.1:3478\"]\n");
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto check = checks.find(name);
    ASSERT_NE(check, checks.end()) << "jobcastd reads no variable " << name;
    std::string out;
    int rc = Jobcastd::runToExit({"token", "--role", "admin", "--sub", "lint", "--config",
                                  dir.path() + "/turn.yaml", "--data-dir", dir.path() + "/data"},
                                 &out, {{name, check->second.first}});
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find(check->second.second), std::string::npos) << out;
  }
}

// The image's entry point turns JOBCAST_*_FILE into the variables: a token
// the node signs verifies with the secret from the mounted file.
TEST(DeployLint, EntrypointHandsMountedSecretsToTheNode) {
  TempDir dir("deploy-entry");
  const std::string secret(64, 'a');
  writeFile(dir.path() + "/jwt", secret + "\n");
  writeFile(dir.path() + "/config.yaml", "server:\n  node_id: \"@HOSTNAME@\"\n");
  std::string out;
  int rc = run({(kDeploy / "docker-entrypoint.sh").string(), "token", "--role", "admin", "--sub",
                "lint", "--data-dir", dir.path() + "/data"},
               &out,
               {{"JOBCASTD", Jobcastd::binary()},
                {"JOBCAST_CONFIG", dir.path() + "/config.yaml"},
                {"JOBCAST_HOSTNAME", "node-a"},
                {"JOBCAST_JWT_SECRET_FILE", dir.path() + "/jwt"},
                {"TMPDIR", dir.path()}});
  ASSERT_EQ(rc, 0) << out;
  std::string token = out.substr(0, out.find('\n'));
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_TRUE(Jwt(secret).verify(token, now)) << token;
  EXPECT_FALSE(Jwt(std::string(64, 'b')).verify(token, now));
  // Unrendered, "@HOSTNAME@" is no valid node_id: the rendering is what passes.
  rc = Jobcastd::runToExit({"token", "--role", "admin", "--sub", "lint", "--config",
                            dir.path() + "/config.yaml", "--data-dir", dir.path() + "/data"},
                           &out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("server.node_id"), std::string::npos) << out;
  // A secret file that cannot be read stops the start.
  rc = run({(kDeploy / "docker-entrypoint.sh").string(), "token", "--role", "admin", "--sub", "x"},
           &out,
           {{"JOBCASTD", Jobcastd::binary()},
            {"JOBCAST_CONFIG", dir.path() + "/config.yaml"},
            {"JOBCAST_JWT_SECRET_FILE", dir.path() + "/missing"}});
  EXPECT_EQ(rc, 2) << out;
}

// The node configs deploy/ ships load and validate in a real jobcastd, after
// the entry point fills in @HOSTNAME@ and @HOST_IP@.
TEST(DeployLint, NodeConfigsLoad) {
  TempDir dir("deploy-configs");
  int i = 0;
  auto configs = nodeConfigs();
  ASSERT_EQ(configs.size(), 2u);
  for (const auto& [name, text] : configs) {
    SCOPED_TRACE(name);
    std::string path = dir.path() + "/config-" + std::to_string(i++) + ".yaml";
    writeFile(path, forThisNode(text));
    std::string out;
    int rc = run({(kDeploy / "docker-entrypoint.sh").string(), "token", "--role", "admin", "--sub",
                  "lint", "--data-dir", dir.path() + "/data"},
                 &out,
                 {{"JOBCASTD", Jobcastd::binary()},
                  {"JOBCAST_CONFIG", path},
                  {"JOBCAST_HOSTNAME", "node-1"},
                  {"JOBCAST_HOST_IP", "192.0.2.10"},
                  {"JOBCAST_JWT_SECRET", std::string(64, 'c')},
                  {"JOBCAST_DATA_KEY", std::string(64, 'd')},
                  {"JOBCAST_TURN_SECRET", std::string(32, 'e')},
                  {"TMPDIR", dir.path()}});
    EXPECT_EQ(rc, 0) << out;
  }
}

// --- the Dockerfile ---

TEST(DeployLint, DockerfileBuildsFromDebian12Packages) {
  std::string version = readFile("/etc/debian_version");
  ASSERT_EQ(version.substr(0, 3), "12.") << "package names are checked on Debian 12";
  std::map<std::string, std::string> args;
  auto stages = dockerStages(&args);
  ASSERT_GE(stages.size(), 2u);
  std::set<std::string> names;
  const Stage* build = nullptr;
  const Stage* runtime = nullptr;
  for (const auto& s : stages) {
    SCOPED_TRACE("stage " + s.name + " FROM " + s.from);
    std::string from = s.from;
    if (from.rfind("${", 0) == 0)
      from = args[from.substr(2, from.size() - 3)];
    EXPECT_TRUE(names.count(from) ||
                std::regex_match(from, std::regex(R"(debian:(12|bookworm)([-.][a-z0-9.]+)?)")))
        << "a stage starts from Debian 12 or an earlier stage";
    if (!s.name.empty())
      names.insert(s.name);
    if (s.name == "build")
      build = &s;
    if (s.name == "runtime")
      runtime = &s;
    for (const auto& p : s.packages) {
      // This machine is Debian 12: an installed package, or one apt knows, exists there.
      std::string status = dpkgStatus(p);
      std::string out;
      bool known = status.rfind("install ok installed", 0) == 0 ||
                   run({"apt-cache", "show", "--no-all-versions", p}, &out) == 0;
      EXPECT_TRUE(known) << p << " is no Debian 12 package";
    }
  }
  ASSERT_TRUE(build && runtime);
  // Build: the packages install-deps.sh names (and what fetches the pages' npm packages).
  auto deps = installDepsPackages();
  for (const auto& p : build->packages)
    EXPECT_TRUE(deps.count(p) || p == "ca-certificates" || p == "nodejs" || p == "npm")
        << p << " is not in deploy/install-deps.sh";
  std::set<std::string> run_pkgs(runtime->packages.begin(), runtime->packages.end());
  // Run time: what install-deps.sh installs for the node to run.
  for (const auto& p : deps) {
    bool needed = (p.rfind("gstreamer1.0-", 0) == 0 && p != "gstreamer1.0-tools") ||
                  p == "redis-server" || p == "fonts-noto-core";
    if (needed) {
      EXPECT_TRUE(run_pkgs.count(p)) << p << " (install-deps.sh) is missing from the runtime stage";
    }
  }
  // The packages of the GStreamer elements /readyz requires (media/required_elements.cpp).
  std::string required = readFile(kRoot / "media" / "required_elements.cpp");
  std::set<std::string> element_pkgs;
  const std::regex element_entry(R"re(\{"[a-z0-9_-]+", "([a-z0-9.+-]+)"\})re");
  for (std::sregex_iterator it(required.begin(), required.end(), element_entry), end; it != end;
       ++it)
    element_pkgs.insert((*it)[1]);
  EXPECT_GE(element_pkgs.size(), 5u);
  for (const auto& p : element_pkgs)
    EXPECT_TRUE(run_pkgs.count(p))
        << p << " (media/required_elements.cpp) is missing from the runtime stage";
  // Every shared library jobcastd links directly (its NEEDED entries) comes
  // from a package the runtime stage names (libc6 too: the base image has it,
  // but naming it keeps this check simple); their dependencies bring the rest.
  std::string needed, ldd;
  ASSERT_EQ(run({"readelf", "-d", Jobcastd::binary()}, &needed), 0) << needed;
  ASSERT_EQ(run({"ldd", Jobcastd::binary()}, &ldd), 0) << ldd;
  int libs = 0;
  const std::regex needed_entry(R"(\(NEEDED\)[^\[]*\[([^\]]+)\])");
  for (std::sregex_iterator it(needed.begin(), needed.end(), needed_entry), end; it != end; ++it) {
    std::string soname = (*it)[1];
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        ldd, m,
        std::regex("\\s" + std::regex_replace(soname, std::regex(R"([.+])"), "\\$&") +
                   " => (/\\S+)")))
        << soname << " not found by ldd";
    // dpkg knows a library by the path its package ships (/lib or /usr/lib).
    std::string path = m[1], owner;
    std::vector<std::string> candidates = {path, fs::canonical(path).string()};
    for (const auto& c : std::vector<std::string>(candidates)) {
      if (c.rfind("/usr/lib/", 0) == 0)
        candidates.push_back(c.substr(4));
      else if (c.rfind("/lib/", 0) == 0)
        candidates.push_back("/usr" + c);
    }
    bool owned = false;
    for (const auto& c : candidates)
      if (!owned && run({"dpkg", "-S", c}, &owner) == 0)
        owned = true;
    ASSERT_TRUE(owned) << soname << ": no package ships " << path;
    std::string package = owner.substr(0, owner.find_first_of(":,"));
    EXPECT_TRUE(run_pkgs.count(package))
        << soname << " comes from " << package << ", missing from the runtime stage";
    ++libs;
  }
  EXPECT_GT(libs, 10);
  // Runtime: a non-root user, the health check, nothing to build with.
  std::string user, healthcheck;
  for (const auto& l : runtime->lines) {
    if (l.rfind("USER ", 0) == 0)
      user = l.substr(5);
    if (l.rfind("HEALTHCHECK ", 0) == 0)
      healthcheck = l;
  }
  EXPECT_FALSE(user.empty() || user.rfind("root", 0) == 0 || user.rfind("0", 0) == 0) << user;
  EXPECT_NE(healthcheck.find("/healthz"), std::string::npos);
  // The commands the health checks, compose and the manifests run in the
  // jobcast image come with its packages.
  std::string uses = healthcheck + readFile(kDeploy / "compose.yaml") +
                     readFile(kDeploy / "k8s" / "redis-cluster.yaml");
  const std::map<std::string, std::string> tools = {
      {"curl ", "curl"}, {"redis-server", "redis-server"}, {"redis-cli", "redis-tools"}};
  for (const auto& [tool, package] : tools) {
    ASSERT_NE(uses.find(tool), std::string::npos) << tool;
    EXPECT_TRUE(run_pkgs.count(package)) << tool << " needs " << package << " in the runtime stage";
  }
  for (const auto& p : runtime->packages)
    EXPECT_FALSE(p.find("-dev") != std::string::npos || p == "build-essential" || p == "cmake")
        << p;
  // Files the build stage copies out of the source tree exist.
  for (const auto& l : build->lines) {
    std::smatch m;
    std::string rest = l;
    while (std::regex_search(rest, m, std::regex(R"(\b((deploy|configs)/[A-Za-z0-9_.-]+))"))) {
      EXPECT_TRUE(fs::exists(kRoot / m[1].str())) << m[1];
      rest = m.suffix();
    }
  }
  EXPECT_TRUE(fs::exists(kRoot / "web-client" / "index.html"));
}

// --- what runs here: systemd, nginx, coturn ---

TEST(DeployLint, SystemdUnitVerifies) {
  // systemd-analyze checks that ExecStart's binary exists: point it at the
  // built one, keep every other line.
  TempDir dir("deploy-unit");
  std::string unit = readFile(kDeploy / "jobcastd.service");
  auto at = unit.find("/usr/local/bin/jobcastd");
  ASSERT_NE(at, std::string::npos);
  unit.replace(at, std::string("/usr/local/bin/jobcastd").size(), Jobcastd::binary());
  writeFile(dir.path() + "/jobcastd.service", unit);
  std::string out;
  int rc = run({JOBCAST_SYSTEMD_ANALYZE, "verify", dir.path() + "/jobcastd.service"}, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("jobcastd.service:"), std::string::npos) << out;
}

TEST(DeployLint, NginxEdgeConfigTests) {
  // nginx-edge.conf goes in the http block; nginx -t it there, its cache,
  // pid and logs moved to a temporary directory.
  TempDir dir("deploy-nginx");
  std::string edge = readFile(kDeploy / "nginx-edge.conf");
  auto at = edge.find("/var/cache/nginx/jobcast-edge");
  ASSERT_NE(at, std::string::npos);
  edge.replace(at, std::string("/var/cache/nginx/jobcast-edge").size(), dir.path() + "/cache");
  edge = std::regex_replace(edge, std::regex(R"(listen 80;)"),
                            "listen 127.0.0.1:" + std::to_string(freePort()) + ";");
  writeFile(dir.path() + "/edge.conf", edge);
  writeFile(dir.path() + "/nginx.conf",
            "pid " + dir.path() + "/nginx.pid;\nerror_log " + dir.path() +
                "/error.log;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path " +
                dir.path() + "/body;\n  proxy_temp_path " + dir.path() + "/proxy;\n  include " +
                dir.path() + "/edge.conf;\n}\n");
  std::string out;
  int rc =
      run({JOBCAST_NGINX, "-t", "-q", "-p", dir.path(), "-c", dir.path() + "/nginx.conf"}, &out);
  EXPECT_EQ(rc, 0) << out;
}

TEST(DeployLint, CoturnConfigUsesTurnserverOptions) {
  // Each line of coturn.conf is a turnserver option (the config file takes the
  // command line's long options); turnserver -h lists them all.
  std::string help;
  run({JOBCAST_TURNSERVER, "-h"}, &help);
  ASSERT_NE(help.find("--static-auth-secret"), std::string::npos) << help.substr(0, 300);
  std::istringstream lines(readFile(kDeploy / "coturn.conf"));
  std::string line;
  int options = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::string key = line.substr(0, line.find('='));
    EXPECT_TRUE(std::regex_search(help, std::regex("--" + key + R"([\s\[=])")))
        << key << " is no turnserver option";
    ++options;
  }
  EXPECT_GT(options, 10);
}

}  // namespace
