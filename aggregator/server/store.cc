#include "aggregator/server/store.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/server/store_internal.h"
#include "core/sha256.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {

using store_internal::Guard;
using store_internal::kWhere;
using store_internal::ReadWeights;

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sites(
  site_id TEXT PRIMARY KEY, display_name TEXT NOT NULL, enabled INTEGER NOT NULL,
  enrolled_unix INTEGER NOT NULL, last_seen_unix INTEGER NOT NULL, node_version TEXT NOT NULL,
  device TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS studies(
  study_id TEXT PRIMARY KEY, spec BLOB NOT NULL, state INTEGER NOT NULL,
  current_round INTEGER NOT NULL, message TEXT NOT NULL, created_unix INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rounds(
  study_id TEXT NOT NULL, round INTEGER NOT NULL, state TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL, opened_unix INTEGER NOT NULL, deadline_unix INTEGER NOT NULL,
  closed_unix INTEGER NOT NULL, metrics_json TEXT NOT NULL, result_json TEXT NOT NULL,
  PRIMARY KEY(study_id, round));
CREATE TABLE IF NOT EXISTS tasks(
  task_id TEXT PRIMARY KEY, study_id TEXT NOT NULL, round INTEGER NOT NULL,
  site_id TEXT NOT NULL, kind INTEGER NOT NULL, checkpoint_id TEXT NOT NULL,
  state TEXT NOT NULL, issued_unix INTEGER NOT NULL, done_unix INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_by_round ON tasks(study_id, round);
CREATE TABLE IF NOT EXISTS results(
  task_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, num_samples INTEGER NOT NULL,
  metrics_json TEXT NOT NULL, result_json TEXT NOT NULL, manifest BLOB, payload BLOB,
  weights_sha256 TEXT NOT NULL, received_unix INTEGER NOT NULL, weights_path TEXT);
CREATE TABLE IF NOT EXISTS checkpoints(
  checkpoint_id TEXT PRIMARY KEY, study_id TEXT NOT NULL, round INTEGER NOT NULL,
  manifest BLOB NOT NULL, payload BLOB NOT NULL, sha256 TEXT NOT NULL,
  created_unix INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '1');
)sql";

SiteRecord ReadSite(const SQLite::Statement& q) {
  sqlite::Row row(q);
  SiteRecord s;
  s.site_id = row.Text();
  s.display_name = row.Text();
  s.enabled = row.Bool();
  s.enrolled_unix = row.Int64();
  s.last_seen_unix = row.Int64();
  s.node_version = row.Text();
  s.device = row.Text();
  return s;
}

absl::StatusOr<StudyRecord> ReadStudy(const SQLite::Statement& q) {
  sqlite::Row row(q);
  StudyRecord s;
  s.study_id = row.Text();
  if (!s.spec.ParseFromString(row.Blob())) {
    return absl::DataLossError(absl::StrCat("study '", s.study_id, "': unreadable spec"));
  }
  s.state = row.EnumValue<v1::StudyState>();
  s.current_round = row.Uint32();
  s.message = row.Text();
  s.created_unix = row.Int64();
  return s;
}

TaskRecord ReadTask(const SQLite::Statement& q) {
  sqlite::Row row(q);
  TaskRecord t;
  t.task_id = row.Text();
  t.study_id = row.Text();
  t.round = row.Uint32();
  t.site_id = row.Text();
  t.kind = row.EnumValue<v1::TaskKind>();
  t.checkpoint_id = row.Text();
  t.state = row.Text();
  t.issued_unix = row.Int64();
  t.done_unix = row.Int64();
  return t;
}

constexpr char kSelectTask[] =
    "SELECT task_id, study_id, round, site_id, kind, checkpoint_id, state, issued_unix, "
    "done_unix FROM tasks ";

}  // namespace

std::string MetricsToJson(const Metrics& metrics) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : metrics) j[k] = v;
  return j.dump();
}

absl::StatusOr<Metrics> MetricsFromJson(const std::string& json) {
  if (json.empty()) return Metrics();
  try {
    Metrics out;
    const nlohmann::json parsed = nlohmann::json::parse(json);  // items() needs a live object
    for (const auto& [k, v] : parsed.items()) out[k] = v.get<double>();
    return out;
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("metrics json: ", e.what()));
  }
}

AggregatorStore::AggregatorStore(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}
AggregatorStore::~AggregatorStore() = default;

absl::StatusOr<std::unique_ptr<AggregatorStore>> AggregatorStore::Open(const std::string& path) {
  sqlite::OpenOptions options;
  options.foreign_keys = true;
  absl::StatusOr<std::unique_ptr<SQLite::Database>> db = sqlite::Open(path, options);
  if (!db.ok()) return Annotate(db.status(), kWhere);
  absl::Status schema = sqlite::Guard(absl::StrCat(path, ": aggregator store schema"), [&] {
    (*db)->exec(kSchema);
    SQLite::Statement v(**db, "SELECT value FROM meta WHERE key='schema_version'");
    if (!v.executeStep() || v.getColumn(0).getString() != "1") {
      return absl::FailedPreconditionError(path + ": unsupported aggregator schema version");
    }
    return absl::OkStatus();
  });
  if (!schema.ok()) return schema;
  // Databases from before uploads were spooled to files lack results.weights_path.
  absl::Status migrated = sqlite::Guard(absl::StrCat(path, ": aggregator store migration"), [&] {
    SQLite::Statement cols(**db, "SELECT 1 FROM pragma_table_info('results') WHERE name = ?");
    cols.bind(1, "weights_path");
    if (!cols.executeStep()) (*db)->exec("ALTER TABLE results ADD COLUMN weights_path TEXT");
    return absl::OkStatus();
  });
  if (!migrated.ok()) return migrated;
  std::unique_ptr<AggregatorStore> store(new AggregatorStore(*std::move(db)));
  SCV_ASSIGN_OR_RETURN(store->audit_, AuditLog::Open(store->db_.get()));
  SCV_ASSIGN_OR_RETURN(store->trust_, TrustStore::Open(store->db_.get()));
  return store;
}

absl::Status AggregatorStore::InTransaction(const std::function<absl::Status()>& body) {
  return sqlite::InTransaction(*db_, absl::StrCat(kWhere, ": transaction"), body);
}

absl::Status AggregatorStore::UpsertSite(const SiteRecord& s) {
  return Guard("upsert site", [&] {
    SQLite::Statement q(*db_, "INSERT OR REPLACE INTO sites VALUES(?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, s.site_id);
    q.bind(2, s.display_name);
    q.bind(3, s.enabled ? 1 : 0);
    q.bind(4, s.enrolled_unix);
    q.bind(5, s.last_seen_unix);
    q.bind(6, s.node_version);
    q.bind(7, s.device);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<SiteRecord>> AggregatorStore::GetSite(const std::string& site_id) {
  return Guard("get site", [&]() -> absl::StatusOr<std::optional<SiteRecord>> {
    SQLite::Statement q(*db_, "SELECT * FROM sites WHERE site_id = ?");
    q.bind(1, site_id);
    if (!q.executeStep()) return std::optional<SiteRecord>();
    return std::optional<SiteRecord>(ReadSite(q));
  });
}

absl::StatusOr<std::vector<SiteRecord>> AggregatorStore::ListSites() {
  return Guard("list sites", [&]() -> absl::StatusOr<std::vector<SiteRecord>> {
    SQLite::Statement q(*db_, "SELECT * FROM sites ORDER BY site_id");
    std::vector<SiteRecord> out;
    while (q.executeStep()) out.push_back(ReadSite(q));
    return out;
  });
}

absl::Status AggregatorStore::InsertStudy(const StudyRecord& s) {
  return Guard("insert study", [&] {
    SQLite::Statement q(*db_, "INSERT INTO studies VALUES(?, ?, ?, ?, ?, ?)");
    q.bind(1, s.study_id);
    sqlite::BindBlob(q, 2, s.spec.SerializeAsString());
    q.bind(3, static_cast<int>(s.state));
    q.bind(4, static_cast<int64_t>(s.current_round));
    q.bind(5, s.message);
    q.bind(6, s.created_unix);
    q.exec();
    return absl::OkStatus();
  });
}

absl::Status AggregatorStore::UpdateStudy(const StudyRecord& s) {
  return Guard("update study", [&] {
    SQLite::Statement q(*db_,
                        "UPDATE studies SET state = ?, current_round = ?, message = ? "
                        "WHERE study_id = ?");
    q.bind(1, static_cast<int>(s.state));
    q.bind(2, static_cast<int64_t>(s.current_round));
    q.bind(3, s.message);
    q.bind(4, s.study_id);
    if (q.exec() != 1) {
      return absl::NotFoundError(absl::StrCat("study '", s.study_id, "' not found"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<StudyRecord>> AggregatorStore::GetStudy(const std::string& study_id) {
  return Guard("get study", [&]() -> absl::StatusOr<std::optional<StudyRecord>> {
    SQLite::Statement q(*db_, "SELECT * FROM studies WHERE study_id = ?");
    q.bind(1, study_id);
    if (!q.executeStep()) return std::optional<StudyRecord>();
    SCV_ASSIGN_OR_RETURN(StudyRecord s, ReadStudy(q));
    return std::optional<StudyRecord>(std::move(s));
  });
}

absl::StatusOr<std::vector<StudyRecord>> AggregatorStore::ListStudies() {
  return Guard("list studies", [&]() -> absl::StatusOr<std::vector<StudyRecord>> {
    SQLite::Statement q(*db_, "SELECT * FROM studies ORDER BY created_unix, study_id");
    std::vector<StudyRecord> out;
    while (q.executeStep()) {
      SCV_ASSIGN_OR_RETURN(StudyRecord s, ReadStudy(q));
      out.push_back(std::move(s));
    }
    return out;
  });
}

absl::Status AggregatorStore::UpsertRound(const RoundRecord& r) {
  return Guard("upsert round", [&] {
    SQLite::Statement q(*db_, "INSERT OR REPLACE INTO rounds VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, r.study_id);
    q.bind(2, static_cast<int64_t>(r.round));
    q.bind(3, r.state);
    q.bind(4, r.checkpoint_id);
    q.bind(5, r.opened_unix);
    q.bind(6, r.deadline_unix);
    q.bind(7, r.closed_unix);
    q.bind(8, MetricsToJson(r.metrics));
    q.bind(9, r.result_json);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<RoundRecord>> AggregatorStore::ListRounds(const std::string& study_id) {
  return Guard("list rounds", [&]() -> absl::StatusOr<std::vector<RoundRecord>> {
    SQLite::Statement q(*db_, "SELECT * FROM rounds WHERE study_id = ? ORDER BY round");
    q.bind(1, study_id);
    std::vector<RoundRecord> out;
    while (q.executeStep()) {
      sqlite::Row row(q);
      RoundRecord r;
      r.study_id = row.Text();
      r.round = row.Uint32();
      r.state = row.Text();
      r.checkpoint_id = row.Text();
      r.opened_unix = row.Int64();
      r.deadline_unix = row.Int64();
      r.closed_unix = row.Int64();
      SCV_ASSIGN_OR_RETURN(r.metrics, MetricsFromJson(row.Text()));
      r.result_json = row.Text();
      out.push_back(std::move(r));
    }
    return out;
  });
}

absl::Status AggregatorStore::UpsertTask(const TaskRecord& t) {
  return Guard("upsert task", [&] {
    SQLite::Statement q(*db_, "INSERT OR REPLACE INTO tasks VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, t.task_id);
    q.bind(2, t.study_id);
    q.bind(3, static_cast<int64_t>(t.round));
    q.bind(4, t.site_id);
    q.bind(5, static_cast<int>(t.kind));
    q.bind(6, t.checkpoint_id);
    q.bind(7, t.state);
    q.bind(8, t.issued_unix);
    q.bind(9, t.done_unix);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<TaskRecord>> AggregatorStore::GetTask(const std::string& task_id) {
  return Guard("get task", [&]() -> absl::StatusOr<std::optional<TaskRecord>> {
    SQLite::Statement q(*db_, std::string(kSelectTask) + "WHERE task_id = ?");
    q.bind(1, task_id);
    if (!q.executeStep()) return std::optional<TaskRecord>();
    return std::optional<TaskRecord>(ReadTask(q));
  });
}

absl::StatusOr<std::vector<TaskRecord>> AggregatorStore::ListTasks(const std::string& study_id,
                                                                   uint32_t round) {
  return Guard("list tasks", [&]() -> absl::StatusOr<std::vector<TaskRecord>> {
    SQLite::Statement q(
        *db_, std::string(kSelectTask) + "WHERE study_id = ? AND round = ? ORDER BY task_id");
    q.bind(1, study_id);
    q.bind(2, static_cast<int64_t>(round));
    std::vector<TaskRecord> out;
    while (q.executeStep()) out.push_back(ReadTask(q));
    return out;
  });
}

absl::Status AggregatorStore::InsertResult(const ResultRecord& r) {
  return Guard("insert result", [&]() -> absl::Status {
    SQLite::Statement exists(*db_, "SELECT 1 FROM results WHERE task_id = ?");
    exists.bind(1, r.task_id);
    if (exists.executeStep()) {
      return absl::AlreadyExistsError(absl::StrCat("task '", r.task_id, "' already has a result"));
    }
    SQLite::Statement q(*db_,
                        "INSERT INTO results(task_id, site_id, num_samples, metrics_json, "
                        "result_json, manifest, payload, weights_sha256, received_unix, "
                        "weights_path) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, r.task_id);
    q.bind(2, r.site_id);
    q.bind(3, static_cast<int64_t>(r.num_samples));
    q.bind(4, MetricsToJson(r.metrics));
    q.bind(5, r.result_json);
    if (!r.weights_path.empty()) {  // spooled: the payload stays in its file
      sqlite::BindBlob(q, 6, r.weights_manifest.SerializeAsString());
      q.bind(7);
      q.bind(10, r.weights_path);
    } else if (r.weights.has_value()) {
      std::string payload;
      const v1::WeightsManifest manifest = protocol::ManifestFor(*r.weights, &payload);
      sqlite::BindBlob(q, 6, manifest.SerializeAsString());
      sqlite::BindBlob(q, 7, payload);
    } else {
      q.bind(6);
      q.bind(7);
    }
    q.bind(8, r.weights_sha256);
    q.bind(9, r.received_unix);
    if (r.weights_path.empty()) q.bind(10);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<ResultRecord>> AggregatorStore::GetResult(const std::string& task_id,
                                                                       bool with_weights) {
  return Guard("get result", [&]() -> absl::StatusOr<std::optional<ResultRecord>> {
    // The payload column last, and only when asked for: metadata never reads the weights.
    SQLite::Statement q(*db_, with_weights
                                  ? "SELECT task_id, site_id, num_samples, metrics_json, "
                                    "result_json, weights_sha256, received_unix, weights_path, "
                                    "manifest, payload FROM results WHERE task_id = ?"
                                  : "SELECT task_id, site_id, num_samples, metrics_json, "
                                    "result_json, weights_sha256, received_unix, weights_path, "
                                    "manifest FROM results WHERE task_id = ?");
    q.bind(1, task_id);
    if (!q.executeStep()) return std::optional<ResultRecord>();
    sqlite::Row row(q);
    ResultRecord r;
    r.task_id = row.Text();
    r.site_id = row.Text();
    r.num_samples = row.Uint64();
    SCV_ASSIGN_OR_RETURN(r.metrics, MetricsFromJson(row.Text()));
    r.result_json = row.Text();
    r.weights_sha256 = row.Text();
    r.received_unix = row.Int64();
    if (!row.NextIsNull())
      r.weights_path = row.Text();
    else
      row.Skip();
    const std::string where = absl::StrCat("result of task '", task_id, "'");
    if (!r.weights_path.empty()) {
      if (!r.weights_manifest.ParseFromString(row.Blob())) {
        return absl::DataLossError(where + ": unreadable manifest");
      }
    } else if (with_weights && !row.NextIsNull()) {
      const std::string manifest = row.Blob();
      SCV_ASSIGN_OR_RETURN(protocol::TensorSet w, ReadWeights(manifest, row.Blob(), where));
      r.weights = std::move(w);
    }
    return std::optional<ResultRecord>(std::move(r));
  });
}

absl::StatusOr<std::optional<uint64_t>> AggregatorStore::FirstTrainingSamples(
    const std::string& study_id, const std::string& site_id) {
  return Guard("first training samples", [&]() -> absl::StatusOr<std::optional<uint64_t>> {
    SQLite::Statement q(*db_,
                        "SELECT r.num_samples FROM results r JOIN tasks t ON r.task_id = "
                        "t.task_id WHERE t.study_id = ? AND t.site_id = ? AND t.kind = ? "
                        "ORDER BY t.round LIMIT 1");
    q.bind(1, study_id);
    q.bind(2, site_id);
    q.bind(3, static_cast<int>(v1::TASK_KIND_TRAIN));
    if (!q.executeStep()) return std::optional<uint64_t>();
    return std::optional<uint64_t>(static_cast<uint64_t>(q.getColumn(0).getInt64()));
  });
}

absl::StatusOr<std::vector<std::string>> AggregatorStore::PruneResultWeights(
    const std::string& study_id, std::optional<uint32_t> round) {
  return Guard("prune result weights", [&]() -> absl::StatusOr<std::vector<std::string>> {
    // Rounds given, or every closed round (a sweep after a crash between commit and delete).
    const std::string scope =
        round ? "SELECT task_id FROM tasks WHERE study_id = ?1 AND round = ?2"
              : "SELECT t.task_id FROM tasks t JOIN rounds r ON r.study_id = t.study_id AND "
                "r.round = t.round WHERE r.state = 'closed'";
    std::vector<std::string> paths;
    SQLite::Statement files(*db_, absl::StrCat("SELECT weights_path FROM results WHERE "
                                               "weights_path IS NOT NULL AND task_id IN (",
                                               scope, ")"));
    SQLite::Statement drop(*db_, absl::StrCat("UPDATE results SET manifest = NULL, payload = "
                                              "NULL, weights_path = NULL WHERE (payload IS NOT "
                                              "NULL OR weights_path IS NOT NULL) AND task_id IN (",
                                              scope, ")"));
    for (SQLite::Statement* q : {&files, &drop}) {
      if (round) {
        q->bind(1, study_id);
        q->bind(2, static_cast<int64_t>(*round));
      }
    }
    while (files.executeStep()) paths.push_back(files.getColumn(0).getString());
    drop.exec();
    return paths;
  });
}

}  // namespace scancov::aggregator
