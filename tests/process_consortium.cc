#include "tests/process_consortium.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "models/nn/checkpoint.h"

namespace scancov::testing_process {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string FromEnvOr(const char* name, const char* built) {
  const char* env = std::getenv(name);
  return env != nullptr && *env != '\0' ? env : built;
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(path, ": cannot write"));
  return absl::OkStatus();
}

// The admission variables of a site's export (its CSV header less identifiers and outcomes):
// what the site's pre-approval rule lets a study read, as in scripts/demo.sh.
absl::StatusOr<std::vector<std::string>> AdmissionVariables(const std::string& csv) {
  std::ifstream in(csv);
  std::string header;
  if (!std::getline(in, header)) return absl::NotFoundError(absl::StrCat(csv, ": no header"));
  static const std::set<std::string> kNotVariables = {"patient_id", "name",  "birth_date",
                                                      "severe",     "death", "icu"};
  std::vector<std::string> out;
  for (absl::string_view column : absl::StrSplit(header, ',')) {
    if (!kNotVariables.count(std::string(column))) out.emplace_back(column);
  }
  return out;
}

int64_t JsonInt(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) return std::strtoll(v.get<std::string>().c_str(), nullptr, 10);
  return 0;
}

std::string JsonString(const json& entry, const char* key) {
  auto it = entry.find(key);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : "";
}

// Distance in representable values between two floats of the same width.
template <typename Float, typename Bits>
uint64_t UlpDistance(Float a, Float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<uint64_t>::max();
  auto ordered = [](Float f) {
    Bits bits;
    std::memcpy(&bits, &f, sizeof(f));
    const Bits sign = Bits(1) << (sizeof(Bits) * 8 - 1);
    // Map the sign-magnitude bit pattern onto a monotonic unsigned line.
    return (bits & sign) ? static_cast<Bits>(~bits) : static_cast<Bits>(bits | sign);
  };
  const Bits x = ordered(a), y = ordered(b);
  return x > y ? x - y : y - x;
}

}  // namespace

Executables Executables::FromBuild() {
  Executables e;
  e.pki = FromEnvOr("SCANCOV_PKI_BIN", SCANCOV_PKI_BIN);
  e.synth_site = FromEnvOr("SCANCOV_SYNTH_SITE_BIN", SCANCOV_SYNTH_SITE_BIN);
  e.aggregator = FromEnvOr("SCANCOV_AGGREGATOR_BIN", SCANCOV_AGGREGATOR_BIN);
  e.node = FromEnvOr("SCANCOV_NODE_BIN", SCANCOV_NODE_BIN);
  e.coord = FromEnvOr("SCANCOV_COORD_BIN", SCANCOV_COORD_BIN);
  return e;
}

absl::StatusOr<CommandResult> ProcessConsortium::Run(const std::string& name,
                                                     std::vector<std::string> argv,
                                                     absl::Duration timeout) const {
  const std::string out = absl::StrCat(dir_, "/logs/", name, ".out");
  SCV_ASSIGN_OR_RETURN(CommandResult r,
                       RunCommand(name, std::move(argv), LogPath(name), out, timeout));
  if (r.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(name, " exited with ", r.exit_code, ":\n", r.log, "\nstdout:\n", r.out));
  }
  return r;
}

std::string ProcessConsortium::LogPath(const std::string& name) const {
  return absl::StrCat(dir_, "/logs/", name, ".log");
}

absl::StatusOr<std::unique_ptr<ProcessConsortium>> ProcessConsortium::Create(
    const std::string& dir, const std::vector<SiteSetup>& sites, const Executables& bin) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir + "/logs", ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": ", ec.message()));
  std::vector<std::string> ids;
  for (const SiteSetup& s : sites) ids.push_back(s.id);
  std::unique_ptr<ProcessConsortium> c(new ProcessConsortium(dir, ids, bin));
  const std::string pki = dir + "/pki";
  SCV_RETURN_IF_ERROR(c->Run("pki", {bin.pki, "--log-level", "warn", "init", "--dir", pki,
                                     "--consortium", "Fault test consortium"})
                          .status());
  // Every party makes its key where it lives and sends a request; the CA signs it.
  auto enrol = [&](const std::string& role, const std::string& id,
                   const std::string& home) -> absl::Status {
    fs::create_directories(home, ec);
    const std::string csr = absl::StrCat(home, "/", id, ".csr");
    SCV_RETURN_IF_ERROR(
        c->Run("pki", {bin.pki, "--log-level", "warn", "request", "--role", role, "--id", id,
                       "--key", absl::StrCat(home, "/", id, ".key"), "--csr", csr})
            .status());
    return c
        ->Run("pki", {bin.pki, "--log-level", "warn", "sign", "--dir", pki, "--csr", csr, "--role",
                      role, "--id", id})
        .status();
  };
  SCV_RETURN_IF_ERROR(enrol("aggregator", "aggregator", dir + "/aggregator"));
  SCV_RETURN_IF_ERROR(enrol("coordinator", "coordinator", dir + "/coordinator"));
  for (const SiteSetup& s : sites) {
    SCV_RETURN_IF_ERROR(enrol("site", s.id, absl::StrCat(dir, "/sites/", s.id, "/state")));
  }
  SCV_RETURN_IF_ERROR(
      c->Run("pki", {bin.pki, "--log-level", "warn", "crl", "--dir", pki}).status());
  for (const SiteSetup& s : sites) {
    const std::string home = absl::StrCat(dir, "/sites/", s.id);
    SCV_RETURN_IF_ERROR(
        c->Run("synth-" + s.id, {bin.synth_site, "--log-level", "warn", "--site", s.id, "--seed",
                                 absl::StrCat(s.seed), "--patients", absl::StrCat(s.patients),
                                 "--case-mix", "0.3", "--ct", "none", "--out", home + "/export"})
            .status());
    SCV_RETURN_IF_ERROR(c->WriteSiteFile(s.id, /*port=*/1));
    SCV_RETURN_IF_ERROR(c->Run("node-" + s.id + "-import",
                               {bin.node, "--config", home + "/site.json", "--log-level", "warn",
                                "import-clinical", "--csv", home + "/export/admission.csv"})
                            .status());
  }
  return c;
}

absl::Status ProcessConsortium::WriteSiteFile(const std::string& site, int port) const {
  const std::string home = absl::StrCat(dir_, "/sites/", site);
  SCV_ASSIGN_OR_RETURN(std::vector<std::string> variables,
                       AdmissionVariables(home + "/export/admission.csv"));
  // The steward pre-approves tabular training over the admission variables (weights may
  // leave), so that no approval step is needed.
  json rule = {{"name", "fault tests"},
               {"kinds", {"tabular_training"}},
               {"variables", variables},
               {"outcomes", {"severe", "death"}},
               {"model_weights", true}};
  json site_file = {{"site_id", site},
                    {"aggregator", absl::StrCat("127.0.0.1:", port)},
                    {"tls",
                     {{"ca", "../../pki/ca.crt"},
                      {"cert", absl::StrCat("../../pki/sites/", site, ".crt")},
                      {"key", absl::StrCat("state/", site, ".key")}}},
                    {"crl", "../../pki/crl.pem"},
                    {"data_dir", "export"},
                    {"store", "state/node.db"},
                    {"secret", "state/site.secret"},
                    {"device", "cpu"},
                    {"log_level", "info"},
                    {"privacy", {{"min_cell_count", 10}, {"allow_model_weights", true}}},
                    {"approval", {{"rules", json::array({rule})}}}};
  return WriteText(home + "/site.json", site_file.dump(2));
}

absl::StatusOr<std::unique_ptr<ProcessConsortium>> ProcessConsortium::CopyTo(
    const std::string& dir) const {
  std::error_code ec;
  if (fs::exists(dir)) return absl::AlreadyExistsError(absl::StrCat(dir, " exists"));
  fs::create_directories(dir + "/logs", ec);
  for (const char* part : {"pki", "aggregator", "coordinator", "sites"}) {
    fs::copy(absl::StrCat(dir_, "/", part), absl::StrCat(dir, "/", part),
             fs::copy_options::recursive, ec);
    if (ec) return absl::InternalError(absl::StrCat("copy ", dir_, "/", part, ": ", ec.message()));
  }
  fs::remove(dir + "/aggregator/aggregator.db", ec);
  return std::unique_ptr<ProcessConsortium>(new ProcessConsortium(dir, site_ids_, bin_));
}

ProcessConsortium::~ProcessConsortium() { StopAll(); }

absl::Status ProcessConsortium::StartAggregator(int port, double wait_seconds) {
  if (aggregator_ != nullptr && aggregator_->Running()) {
    return absl::FailedPreconditionError("the aggregator is already running");
  }
  const std::string home = dir_ + "/aggregator";
  const std::string port_file = home + "/aggregator.port";
  std::error_code ec;
  fs::remove(port_file, ec);
  ProcessOptions o;
  o.name = "aggregator";
  o.argv = {bin_.aggregator,
            "--listen",
            absl::StrCat("127.0.0.1:", port),
            "--db",
            home + "/aggregator.db",
            "--ca",
            dir_ + "/pki/ca.crt",
            "--cert",
            dir_ + "/pki/aggregators/aggregator.crt",
            "--key",
            home + "/aggregator.key",
            "--crl",
            dir_ + "/pki/crl.pem",
            "--port-file",
            port_file,
            "--wait-seconds",
            absl::StrFormat("%g", wait_seconds)};
  o.log_path = LogPath("aggregator");
  SCV_ASSIGN_OR_RETURN(aggregator_, ChildProcess::Start(std::move(o)));
  absl::StatusOr<int> bound = ReadPortFile(port_file, absl::Seconds(20));
  if (!bound.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("aggregator did not start: ", bound.status().message(), "\nlog tail:\n",
                     aggregator_->LogTail()));
  }
  if (*bound != port) {
    return absl::InternalError(absl::StrCat("aggregator bound ", *bound, ", not ", port));
  }
  aggregator_port_ = port;
  return absl::OkStatus();
}

absl::Status ProcessConsortium::StartNode(const std::string& site, int port) {
  auto it = nodes_.find(site);
  if (it != nodes_.end() && it->second->Running()) {
    return absl::FailedPreconditionError(absl::StrCat("node ", site, " is already running"));
  }
  SCV_RETURN_IF_ERROR(WriteSiteFile(site, port));
  ProcessOptions o;
  o.name = "node " + site;
  o.argv = {bin_.node, "--config", absl::StrCat(dir_, "/sites/", site, "/site.json"), "run"};
  o.log_path = LogPath("node-" + site);
  SCV_ASSIGN_OR_RETURN(nodes_[site], ChildProcess::Start(std::move(o)));
  return absl::OkStatus();
}

ChildProcess* ProcessConsortium::node(const std::string& site) {
  auto it = nodes_.find(site);
  return it == nodes_.end() ? nullptr : it->second.get();
}

void ProcessConsortium::StopAll() {
  for (auto& [site, child] : nodes_) {
    if (child != nullptr) child->Stop(absl::Seconds(2)).IgnoreError();
  }
  if (aggregator_ != nullptr) aggregator_->Stop(absl::Seconds(3)).IgnoreError();
}

absl::StatusOr<std::string> ProcessConsortium::Coord(const std::vector<std::string>& args,
                                                     absl::Duration timeout) {
  std::vector<std::string> argv = {bin_.coord,
                                   "--aggregator",
                                   absl::StrCat("127.0.0.1:", aggregator_port_),
                                   "--ca",
                                   dir_ + "/pki/ca.crt",
                                   "--cert",
                                   dir_ + "/pki/coordinators/coordinator.crt",
                                   "--key",
                                   dir_ + "/coordinator/coordinator.key",
                                   "--log-level",
                                   "warn"};
  argv.insert(argv.end(), args.begin(), args.end());
  SCV_ASSIGN_OR_RETURN(
      CommandResult r,
      RunCommand("coord " + args.front(), std::move(argv), LogPath("coord"),
                 absl::StrCat(dir_, "/logs/coord-", ++commands_, ".out"), timeout));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("scancov-coord ", absl::StrJoin(args, " "),
                                            " exited with ", r.exit_code, ": ", r.log, r.out));
  }
  return r.out;
}

absl::Status ProcessConsortium::EnrollAll() {
  for (const std::string& s : site_ids_) {
    SCV_RETURN_IF_ERROR(Coord({"enroll", "--site", s}).status());
  }
  return absl::OkStatus();
}

absl::Status ProcessConsortium::CreateStudy(const json& spec) {
  const std::string path =
      absl::StrCat(dir_, "/study-", spec.value("name", std::string("study")), ".json");
  SCV_RETURN_IF_ERROR(WriteText(path, spec.dump(2)));
  return Coord({"create-study", "--spec", path}).status();
}

absl::Status ProcessConsortium::WatchUntilDone(const std::string& study, absl::Duration timeout) {
  const int64_t seconds = absl::ToInt64Seconds(timeout);
  absl::StatusOr<std::string> out =
      Coord({"watch", "--study", study, "--interval", "0.3", "--timeout", absl::StrCat(seconds)},
            timeout + absl::Seconds(15));
  if (out.ok()) return absl::OkStatus();
  return absl::Status(
      out.status().code(),
      absl::StrCat("study ", study, " did not finish: ", out.status().message(), "\n", LogTails()));
}

absl::StatusOr<protocol::TensorSet> ProcessConsortium::ExportFinalModel(const std::string& study) {
  const std::string path = absl::StrCat(dir_, "/", study, ".ckpt");
  SCV_RETURN_IF_ERROR(Coord({"export-checkpoint", "--study", study, "--out", path}).status());
  SCV_ASSIGN_OR_RETURN(nn::Checkpoint checkpoint, nn::LoadCheckpoint(path));
  return std::move(checkpoint.weights);
}

absl::StatusOr<std::vector<AuditRecord>> ProcessConsortium::Audit() {
  SCV_ASSIGN_OR_RETURN(std::string out, Coord({"audit", "--json"}));
  json parsed = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) {
    return absl::InternalError(
        absl::StrCat("scancov-coord audit --json: not an array: ", out.substr(0, 300)));
  }
  std::vector<AuditRecord> records;
  for (const json& e : parsed) {
    AuditRecord r;
    r.seq = JsonInt(e.value("seq", json()));
    r.actor_role = JsonString(e, "actor_role");
    r.actor_id = JsonString(e, "actor_id");
    r.action = JsonString(e, "action");
    r.study_id = JsonString(e, "study_id");
    r.site_id = JsonString(e, "site_id");
    r.detail = JsonString(e, "detail");
    if (auto t = e.find("task_ids"); t != e.end() && t->is_array()) {
      for (const json& id : *t) r.task_ids.push_back(id.get<std::string>());
    }
    records.push_back(std::move(r));
  }
  return records;
}

absl::StatusOr<std::string> ProcessConsortium::Status(const std::string& study) {
  return Coord({"status", "--study", study});
}

std::string ProcessConsortium::LogTails(size_t bytes_each) const {
  std::string out =
      absl::StrCat("--- aggregator log tail:\n", FileTail(LogPath("aggregator"), bytes_each));
  for (const auto& [site, child] : nodes_) {
    absl::StrAppend(&out, "\n--- node ", site, " log tail:\n", child->LogTail(bytes_each));
  }
  return out;
}

std::vector<AuditRecord> AuditEntries(const std::vector<AuditRecord>& audit,
                                      const std::string& study, const std::string& action) {
  std::vector<AuditRecord> out;
  for (const AuditRecord& r : audit) {
    if (r.study_id == study && r.action == action) out.push_back(r);
  }
  return out;
}

std::vector<std::string> AuditViolations(const std::vector<AuditRecord>& audit,
                                         const std::string& study) {
  std::vector<std::string> out;
  std::map<std::string, int> accepted;
  for (const AuditRecord& r : AuditEntries(audit, study, "result_accepted")) {
    for (const std::string& t : r.task_ids) ++accepted[t];
  }
  for (const auto& [task, n] : accepted) {
    if (n > 1) out.push_back(absl::StrCat("task ", task, ": result_accepted ", n, " times"));
  }
  // round_closed's detail is "round N" or "round N -> <checkpoint>".
  std::map<std::string, int> closed;
  for (const AuditRecord& r : AuditEntries(audit, study, "round_closed")) {
    ++closed[r.detail.substr(0, r.detail.find(" -> "))];
  }
  for (const auto& [round, n] : closed) {
    if (n > 1) out.push_back(absl::StrCat(round, ": round_closed ", n, " times"));
  }
  return out;
}

std::string ModelDifference::ToString() const {
  if (!same_layout) return "different layouts";
  if (bitwise_equal) return "bitwise equal";
  return absl::StrFormat("max %d ulp, max |difference| %g (tensor %s)", max_ulp, max_abs,
                         worst_tensor);
}

ModelDifference CompareModels(const protocol::TensorSet& a, const protocol::TensorSet& b) {
  ModelDifference d;
  d.same_layout = a.CheckSameLayout(b).ok();
  if (!d.same_layout) return d;
  d.bitwise_equal = true;
  for (size_t i = 0; i < a.size(); ++i) {
    const protocol::Tensor& x = a.tensors()[i];
    const protocol::Tensor& y = b.tensors()[i];
    if (x.bytes == y.bytes) continue;
    d.bitwise_equal = false;
    if (x.dtype != protocol::DType::kFloat32 && x.dtype != protocol::DType::kFloat64) {
      d.max_ulp = std::numeric_limits<uint64_t>::max();  // not a float: any difference is total
      d.worst_tensor = x.name;
      continue;
    }
    const bool f32 = x.dtype == protocol::DType::kFloat32;
    for (int64_t k = 0; k < x.NumElements(); ++k) {
      uint64_t ulp = 0;
      double abs = 0;
      if (f32) {
        float p, q;
        std::memcpy(&p, x.bytes.data() + 4 * k, 4);
        std::memcpy(&q, y.bytes.data() + 4 * k, 4);
        ulp = UlpDistance<float, uint32_t>(p, q);
        abs = std::fabs(static_cast<double>(p) - q);
      } else {
        double p, q;
        std::memcpy(&p, x.bytes.data() + 8 * k, 8);
        std::memcpy(&q, y.bytes.data() + 8 * k, 8);
        ulp = UlpDistance<double, uint64_t>(p, q);
        abs = std::fabs(p - q);
      }
      if (ulp > d.max_ulp) {
        d.max_ulp = ulp;
        d.worst_tensor = x.name;
      }
      d.max_abs = std::max(d.max_abs, abs);
    }
  }
  return d;
}

}  // namespace scancov::testing_process
