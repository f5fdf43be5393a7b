// AggregatorStore: all aggregator state in one SQLite database (SQLiteCpp), so a restart loses
// nothing that was accepted: enrolled sites, studies, rounds, tasks, received results (with
// their weights) and global checkpoints, plus an audit trail of refusals.
//
// Schema (version 1; see kSchema in store.cc):
//   sites(site_id PK, display_name, enabled, enrolled_unix, last_seen_unix, node_version, device)
//   studies(study_id PK, spec BLOB = StudySpec proto, state, current_round, message, created_unix)
//   rounds(study_id, round, state 'open'|'closed', checkpoint_id, opened_unix, deadline_unix,
//          closed_unix, metrics_json, result_json; PK(study_id, round))
//   tasks(task_id PK, study_id, round, site_id, kind, checkpoint_id, state
//         'pending'|'issued'|'done'|'expired', issued_unix, done_unix)
//   results(task_id PK, site_id, num_samples, metrics_json, result_json, manifest BLOB,
//           payload BLOB, weights_sha256, received_unix, weights_path: the spooled payload
//           file when the weights are not in the row; NULL once the round is aggregated)
//   checkpoints(checkpoint_id PK, study_id, round, manifest BLOB, payload BLOB, sha256,
//               created_unix)
//   events(id PK, unix, study_id, site_id, kind, message)
// Weights are stored as a WeightsManifest (protocol/weights_codec.h) plus the raw payload; a
// load verifies the payload's SHA-256, so a corrupted row is detected, never used.
//
// Thread safety: none; the owner (Federation) serialises access. Every method catches
// SQLite exceptions and returns a Status naming the operation.
#ifndef SCANCOV_AGGREGATOR_STORE_H_
#define SCANCOV_AGGREGATOR_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/server/audit_log.h"
#include "aggregator/server/trust_store.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace SQLite {
class Database;
}

namespace scancov::aggregator {

using Metrics = std::map<std::string, double>;

struct SiteRecord {
  std::string site_id;
  std::string display_name;
  bool enabled = true;
  int64_t enrolled_unix = 0;
  int64_t last_seen_unix = 0;
  std::string node_version;
  std::string device;
};

struct StudyRecord {
  std::string study_id;
  v1::StudySpec spec;
  v1::StudyState state = v1::STUDY_STATE_RUNNING;
  uint32_t current_round = 0;
  std::string message;
  int64_t created_unix = 0;
};

struct RoundRecord {
  std::string study_id;
  uint32_t round = 0;
  std::string state = "open";
  std::string checkpoint_id;  // the checkpoint this round produced (set when closed)
  int64_t opened_unix = 0;
  int64_t deadline_unix = 0;  // 0: no deadline
  int64_t closed_unix = 0;
  Metrics metrics;
  std::string result_json;
};

struct TaskRecord {
  std::string task_id;
  std::string study_id;
  uint32_t round = 0;
  std::string site_id;  // empty while an INIT task is unassigned
  v1::TaskKind kind = v1::TASK_KIND_UNSPECIFIED;
  std::string checkpoint_id;  // input weights
  std::string state = "pending";
  int64_t issued_unix = 0;
  int64_t done_unix = 0;
};

struct ResultRecord {
  std::string task_id;
  std::string site_id;
  uint64_t num_samples = 0;
  Metrics metrics;
  std::string result_json;
  std::optional<protocol::TensorSet> weights;  // held in the database (no upload spool)
  // Or: the verified payload file in the upload spool (upload_spool.h), and its manifest.
  std::string weights_path;
  v1::WeightsManifest weights_manifest;
  std::string weights_sha256;  // hex; empty without weights
  int64_t received_unix = 0;
};

// Weights as stored and as they go on the wire: the manifest (no chunk fields) and the payload.
struct StoredWeights {
  v1::WeightsManifest manifest;
  std::string payload;
};

class AggregatorStore {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" for tests).
  static absl::StatusOr<std::unique_ptr<AggregatorStore>> Open(const std::string& path);
  ~AggregatorStore();

  // Runs `body` in one transaction: committed if it returns OK, rolled back otherwise.
  absl::Status InTransaction(const std::function<absl::Status()>& body);

  absl::Status UpsertSite(const SiteRecord& site);
  absl::StatusOr<std::optional<SiteRecord>> GetSite(const std::string& site_id);
  absl::StatusOr<std::vector<SiteRecord>> ListSites();

  absl::Status InsertStudy(const StudyRecord& study);
  absl::Status UpdateStudy(const StudyRecord& study);
  absl::StatusOr<std::optional<StudyRecord>> GetStudy(const std::string& study_id);
  absl::StatusOr<std::vector<StudyRecord>> ListStudies();

  absl::Status UpsertRound(const RoundRecord& round);
  absl::StatusOr<std::vector<RoundRecord>> ListRounds(const std::string& study_id);

  absl::Status UpsertTask(const TaskRecord& task);
  absl::StatusOr<std::optional<TaskRecord>> GetTask(const std::string& task_id);
  absl::StatusOr<std::vector<TaskRecord>> ListTasks(const std::string& study_id, uint32_t round);

  // Inserts a result; fails with AlreadyExists if the task already has one.
  absl::Status InsertResult(const ResultRecord& result);
  // `with_weights` false: the result's metadata only (nothing read from its payload).
  absl::StatusOr<std::optional<ResultRecord>> GetResult(const std::string& task_id,
                                                        bool with_weights = true);
  // The sample count of the site's first accepted training result in the study, if any.
  absl::StatusOr<std::optional<uint64_t>> FirstTrainingSamples(const std::string& study_id,
                                                               const std::string& site_id);

  // Drops the weights of a closed round's results (their metadata stay) and returns the
  // spooled files the caller must now delete. Without `round`: every closed round of every study.
  absl::StatusOr<std::vector<std::string>> PruneResultWeights(const std::string& study_id,
                                                              std::optional<uint32_t> round);

  absl::Status PutCheckpoint(const std::string& checkpoint_id, const std::string& study_id,
                             uint32_t round, const protocol::TensorSet& weights,
                             int64_t created_unix);
  absl::StatusOr<protocol::TensorSet> GetCheckpoint(const std::string& checkpoint_id);
  // The checkpoint's manifest and payload as stored (not decoded, not verified: see
  // checkpoint_cache.h).
  absl::StatusOr<StoredWeights> GetStoredCheckpoint(const std::string& checkpoint_id);
  // Deletes `study_id`'s checkpoints (models and strategy states) of rounds before
  // `first_kept_round`; returns how many. (The freed pages are reused: the file stops growing.)
  absl::StatusOr<int> PruneCheckpoints(const std::string& study_id, uint32_t first_kept_round);

  // The audit log and the sites' decisions and identities, in the same database and
  // transactions (audit_log.h, trust_store.h).
  AuditLog& audit() { return *audit_; }
  TrustStore& trust() { return *trust_; }

 private:
  explicit AggregatorStore(std::unique_ptr<SQLite::Database> db);
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<TrustStore> trust_;
};

std::string MetricsToJson(const Metrics& metrics);
absl::StatusOr<Metrics> MetricsFromJson(const std::string& json);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STORE_H_
