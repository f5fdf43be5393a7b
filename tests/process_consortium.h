// A small consortium of real processes in a folder, for fault tests: the executables a
// deployment runs (scancov-pki, scancov-synth-site, scancov-aggregator, scancov-node,
// scancov-coord), started and stopped as separate processes and driven through their command
// lines, as scripts/demo.sh does.
//
//   <dir>/pki/                 the consortium CA (scancov-pki init), crl.pem, issued certificates
//   <dir>/aggregator/          the aggregator's key; its database aggregator.db and port file
//   <dir>/coordinator/         the coordinator's key
//   <dir>/sites/<id>/          export/ (scancov-synth-site), state/ (key, secret, node.db),
//                              site.json (a pre-approval rule for tabular_training: no steward)
//   <dir>/logs/<name>.log      every process's stderr (appended across restarts)
//
// Create builds it once (keys are made where they live; the CA signs requests); CopyTo gives
// each test its own copy with the same keys, site secrets and imported stores, so that two runs
// of one study see the same data split and train the same model.
//
// Thread safety: none; one test thread drives a consortium. The destructor kills every process
// it started.
#ifndef SCANCOV_TESTS_PROCESS_CONSORTIUM_H_
#define SCANCOV_TESTS_PROCESS_CONSORTIUM_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "protocol/tensor_set.h"
#include "tests/process_harness.h"

namespace scancov::testing_process {

// Paths of the executables under test.
struct Executables {
  std::string pki, synth_site, aggregator, node, coord;
  // From the compile definitions tests/CMakeLists.txt passes ($<TARGET_FILE:...>); each may be
  // overridden by an environment variable of the same name (SCANCOV_AGGREGATOR_BIN, ...).
  static Executables FromBuild();
};

struct SiteSetup {
  std::string id;  // kb, igr, hegp or any other name (a generic synthetic site)
  int patients = 300;
  uint64_t seed = 1;
};

// One line of the aggregator's audit log (scancov-coord audit --json).
struct AuditRecord {
  int64_t seq = 0;
  std::string actor_role, actor_id, action, study_id, site_id, detail;
  std::vector<std::string> task_ids;
};

class ProcessConsortium {
 public:
  static absl::StatusOr<std::unique_ptr<ProcessConsortium>> Create(
      const std::string& dir, const std::vector<SiteSetup>& sites, const Executables& bin);
  // A copy of this consortium's files in `dir` (which must not exist), without running
  // processes, logs or aggregator state.
  absl::StatusOr<std::unique_ptr<ProcessConsortium>> CopyTo(const std::string& dir) const;
  ~ProcessConsortium();

  const std::string& dir() const { return dir_; }
  const std::vector<std::string>& site_ids() const { return site_ids_; }
  std::string LogPath(const std::string& name) const;

  // scancov-aggregator --listen 127.0.0.1:<port> --db <dir>/aggregator/aggregator.db; returns
  // once it wrote its port file. Called again after a kill: the same port and database.
  absl::Status StartAggregator(int port, double wait_seconds = 0.5);
  ChildProcess* aggregator() { return aggregator_.get(); }
  int aggregator_port() const { return aggregator_port_; }

  // scancov-node run for `site`, dialing 127.0.0.1:<port> (the aggregator, or a proxy).
  absl::Status StartNode(const std::string& site, int port);
  ChildProcess* node(const std::string& site);

  // SIGTERM then SIGKILL for every process started (nodes first).
  void StopAll();

  // scancov-coord <args> against the aggregator; its stdout, or an error with its stderr.
  absl::StatusOr<std::string> Coord(const std::vector<std::string>& args,
                                    absl::Duration timeout = absl::Seconds(30));
  absl::Status EnrollAll();
  // Writes `spec` (a StudySpec in protobuf's JSON mapping) and runs create-study.
  absl::Status CreateStudy(const nlohmann::json& spec);
  // scancov-coord watch until the study ends: OK when it is done, else the error with the tails
  // of the aggregator's and the nodes' logs.
  absl::Status WatchUntilDone(const std::string& study, absl::Duration timeout);
  // scancov-coord export-checkpoint, read back (models/nn/checkpoint.h).
  absl::StatusOr<protocol::TensorSet> ExportFinalModel(const std::string& study);
  absl::StatusOr<std::vector<AuditRecord>> Audit();
  // scancov-coord status (the study's report, Markdown).
  absl::StatusOr<std::string> Status(const std::string& study);

  // The tails of every process's log, for failure messages.
  std::string LogTails(size_t bytes_each = 2000) const;

 private:
  ProcessConsortium(std::string dir, std::vector<std::string> site_ids, Executables bin)
      : dir_(std::move(dir)), site_ids_(std::move(site_ids)), bin_(std::move(bin)) {}
  absl::Status WriteSiteFile(const std::string& site, int port) const;
  absl::StatusOr<CommandResult> Run(const std::string& name, std::vector<std::string> argv,
                                    absl::Duration timeout = absl::Seconds(60)) const;

  std::string dir_;
  std::vector<std::string> site_ids_;
  Executables bin_;
  std::unique_ptr<ChildProcess> aggregator_;
  int aggregator_port_ = 0;
  std::map<std::string, std::unique_ptr<ChildProcess>> nodes_;
  int commands_ = 0;  // numbers the stdout files of coordinator commands
};

// A consortium built once for a test suite and copied for each test: building one makes every
// site's key and certificate and the sites' data, which takes seconds. Build in
// SetUpTestSuite, Release in TearDownTestSuite.
class ConsortiumTemplate {
 public:
  void Build(const std::string& dir, const std::vector<SiteSetup>& sites) {
    auto created = ProcessConsortium::Create(dir, sites, Executables::FromBuild());
    if (created.ok()) {
      built_ = std::move(*created);
    } else {
      error_ = created.status();
    }
  }
  void Release() { built_.reset(); }
  // A fresh copy in `dir` (which must not exist); why the build or the copy failed otherwise.
  absl::StatusOr<std::unique_ptr<ProcessConsortium>> Copy(const std::string& dir) const {
    if (built_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("consortium set-up failed: ", error_.ToString()));
    }
    return built_->CopyTo(dir);
  }

 private:
  std::unique_ptr<ProcessConsortium> built_;
  absl::Status error_ = absl::FailedPreconditionError("ConsortiumTemplate::Build was not called");
};

// What the audit log must show after any fault: no task's result accepted twice, no round of a
// study closed twice. One line per violation; empty when none.
std::vector<std::string> AuditViolations(const std::vector<AuditRecord>& audit,
                                         const std::string& study);
// The entries of `study` with `action`.
std::vector<AuditRecord> AuditEntries(const std::vector<AuditRecord>& audit,
                                      const std::string& study, const std::string& action);

// How two models differ: bitwise equal, or the largest difference in units in the last place
// (float32 / float64 tensors; other dtypes must be bitwise equal).
struct ModelDifference {
  bool same_layout = false;
  bool bitwise_equal = false;
  uint64_t max_ulp = 0;
  double max_abs = 0;
  std::string worst_tensor;
  std::string ToString() const;
};
ModelDifference CompareModels(const protocol::TensorSet& a, const protocol::TensorSet& b);

}  // namespace scancov::testing_process

#endif  // SCANCOV_TESTS_PROCESS_CONSORTIUM_H_
