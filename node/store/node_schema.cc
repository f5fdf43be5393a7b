#include "node/store/node_schema.h"

#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"
#include "privacy/dp/dp_ledger.h"
#include "privacy/egress_ledger.h"

namespace scancov::node {
namespace {

// node/clinical (see node/clinical/SCHEMA.md).
constexpr char kClinical[] = R"sql(
CREATE TABLE IF NOT EXISTS clinical_import(
  import_id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  mode TEXT NOT NULL,
  rows_read INTEGER NOT NULL,
  patients INTEGER NOT NULL,
  rows_skipped INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clinical_patient(
  pseudonym TEXT PRIMARY KEY,
  first_import_id INTEGER NOT NULL,
  last_import_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clinical_value(
  pseudonym TEXT NOT NULL REFERENCES clinical_patient(pseudonym),
  variable TEXT NOT NULL,
  value REAL NOT NULL,
  import_id INTEGER NOT NULL,
  PRIMARY KEY (pseudonym, variable)) WITHOUT ROWID;
)sql";

// node/imaging/imaging_store.h.
constexpr char kImaging[] = R"sql(
CREATE TABLE IF NOT EXISTS ct_series(
  series_key TEXT PRIMARY KEY, patient_key TEXT NOT NULL, study_key TEXT NOT NULL,
  nx INTEGER NOT NULL, ny INTEGER NOT NULL, nz INTEGER NOT NULL,
  spacing_x REAL NOT NULL, spacing_y REAL NOT NULL, spacing_z REAL NOT NULL,
  fingerprint TEXT NOT NULL, lung_labels_path TEXT NOT NULL, lesion_labels_path TEXT NOT NULL,
  imported_unix INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ct_series_by_patient ON ct_series(patient_key);
)sql";

// node/imaging/ct_features.h: one REAL column per name of CtFeatureNames(), in its order
// (node_store_test checks that they agree).
constexpr char kCtFeatures[] = R"sql(
CREATE TABLE IF NOT EXISTS ct_features(
  series_key TEXT PRIMARY KEY, patient_key TEXT NOT NULL, slices INTEGER NOT NULL,
  lung_volume_ml REAL, well_aerated_lung_percent REAL, ct_ggo_percent REAL,
  ct_semi_consolidation_percent REAL, ct_consolidation_percent REAL, ct_abnormal_percent REAL,
  calcium_volume_mm3 REAL);
)sql";

// node/ai_severity_scores.h.
constexpr char kAiSeverityScores[] = R"sql(
CREATE TABLE IF NOT EXISTS ai_severity_scores(
  study_id TEXT NOT NULL, patient_key TEXT NOT NULL, probability REAL NOT NULL,
  model_digest TEXT NOT NULL, scored_at INTEGER NOT NULL, PRIMARY KEY(study_id, patient_key));
)sql";

// node/task_log.h.
constexpr char kTaskLog[] = R"sql(
CREATE TABLE IF NOT EXISTS task_log(
  task_id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL,
  started_unix INTEGER NOT NULL, finished_unix INTEGER NOT NULL, detail TEXT NOT NULL);
)sql";

// node/tasks/tercile_budget.h.
constexpr char kTercileRounds[] = R"sql(
CREATE TABLE IF NOT EXISTS tercile_rounds(
  study_id TEXT NOT NULL, round INTEGER NOT NULL, beta_sha256 TEXT NOT NULL,
  candidates_sha256 TEXT NOT NULL, PRIMARY KEY(study_id, round));
)sql";

// node/approvals.h.
constexpr char kStudyApprovals[] = R"sql(
CREATE TABLE IF NOT EXISTS study_approvals(
  study_id TEXT NOT NULL, spec_sha256 TEXT NOT NULL, study_kind TEXT NOT NULL,
  spec_json TEXT NOT NULL, plan TEXT NOT NULL, summary TEXT NOT NULL, decision TEXT NOT NULL,
  decided_by TEXT NOT NULL, reason TEXT NOT NULL, min_cohort INTEGER NOT NULL,
  requested_unix INTEGER NOT NULL, decided_unix INTEGER NOT NULL, reported INTEGER NOT NULL,
  PRIMARY KEY(study_id, spec_sha256));
)sql";

// node/cohort_guard.h: which (variables, outcome) each study's tasks read, and the sets of
// patients (truncated digests of their keys) each study's numbers came from.
constexpr char kCohortGuard[] = R"sql(
CREATE TABLE IF NOT EXISTS cohort_reads(
  study_id TEXT NOT NULL, task_id TEXT NOT NULL, variables TEXT NOT NULL, outcome TEXT NOT NULL,
  PRIMARY KEY(study_id, task_id, variables, outcome));
CREATE TABLE IF NOT EXISTS cohort_sets(
  study_id TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, members BLOB NOT NULL,
  PRIMARY KEY(study_id, digest));
)sql";

}  // namespace

absl::Status CreateNodeSchema(SQLite::Database& db) {
  SCV_RETURN_IF_ERROR(sqlite::Guard("node store: create schema", [&] {
    for (const char* ddl : {kClinical, kImaging, kCtFeatures, kAiSeverityScores, kTaskLog,
                            kTercileRounds, kStudyApprovals, kCohortGuard}) {
      db.exec(ddl);
    }
    return absl::OkStatus();
  }));
  SCV_RETURN_IF_ERROR(privacy::dp::DpLedger::CreateSchema(db));
  return privacy::EgressLedger::CreateSchema(db);
}

}  // namespace scancov::node
