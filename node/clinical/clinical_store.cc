#include "node/clinical/clinical_store.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

constexpr char kSchema[] = R"sql(
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

absl::Status SqlError(absl::string_view where, const std::exception& e) {
  return absl::InternalError(absl::StrCat("clinical store: ", where, ": ", e.what()));
}

int64_t InsertImportLog(SQLite::Database& db, const ClinicalImportLog& log, int64_t patients) {
  SQLite::Statement insert(db,
                           "INSERT INTO clinical_import(source, sha256, imported_at, mode, "
                           "rows_read, patients, rows_skipped) VALUES (?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, log.source);
  insert.bind(2, log.sha256);
  insert.bind(3, log.imported_at);
  insert.bind(4, log.mode);
  insert.bind(5, static_cast<int64_t>(log.rows_read));
  insert.bind(6, patients);
  insert.bind(7, static_cast<int64_t>(log.rows_skipped));
  insert.exec();
  return db.getLastInsertRowid();
}

void WritePatients(SQLite::Database& db, int64_t import_id,
                   const std::vector<std::string>& variables,
                   const std::vector<PatientValues>& patients) {
  SQLite::Statement patient(db,
                            "INSERT INTO clinical_patient(pseudonym, first_import_id, "
                            "last_import_id) VALUES (?1, ?2, ?2) ON CONFLICT(pseudonym) DO "
                            "UPDATE SET last_import_id = excluded.last_import_id");
  SQLite::Statement upsert(db,
                           "INSERT INTO clinical_value(pseudonym, variable, value, import_id) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT(pseudonym, variable) DO UPDATE SET "
                           "value = excluded.value, import_id = excluded.import_id");
  SQLite::Statement erase(db, "DELETE FROM clinical_value WHERE pseudonym = ? AND variable = ?");
  for (const PatientValues& p : patients) {
    patient.bind(1, p.pseudonym);
    patient.bind(2, import_id);
    patient.exec();
    patient.reset();
    for (size_t j = 0; j < variables.size(); ++j) {
      SQLite::Statement& s = std::isnan(p.values[j]) ? erase : upsert;
      s.bind(1, p.pseudonym);
      s.bind(2, variables[j]);
      if (!std::isnan(p.values[j])) {
        s.bind(3, p.values[j]);
        s.bind(4, import_id);
      }
      s.exec();
      s.reset();
    }
  }
}

absl::Status CheckVariables(const std::vector<std::string>& variables) {
  for (const std::string& v : variables) {
    if (sites::FindVariable(v) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("clinical store: unknown variable '", v, "'"));
    }
  }
  return absl::OkStatus();
}

// pseudonym -> (variable -> value) for the asked variables.
using ValueTable = std::map<std::string, absl::flat_hash_map<std::string, double>>;

ValueTable ReadValues(SQLite::Database& db, const std::vector<std::string>& names) {
  std::vector<std::string> marks(names.size(), "?");
  SQLite::Statement q(db, absl::StrCat("SELECT pseudonym, variable, value FROM clinical_value "
                                       "WHERE variable IN (",
                                       absl::StrJoin(marks, ","), ")"));
  for (size_t i = 0; i < names.size(); ++i) q.bind(static_cast<int>(i + 1), names[i]);
  ValueTable table;
  while (q.executeStep()) {
    table[q.getColumn(0).getString()][q.getColumn(1).getString()] = q.getColumn(2).getDouble();
  }
  return table;
}

ClinicalDataset BuildDataset(const ValueTable& table, const std::vector<std::string>& variables,
                             const std::string& outcome) {
  ClinicalDataset d;
  d.variables = variables;
  d.outcome = outcome;
  d.present_counts.assign(variables.size(), 0);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const auto& [pseudonym, values] : table) {
    if (!outcome.empty()) {
      auto y = values.find(outcome);
      if (y == values.end()) continue;
      d.outcome_values.push_back(static_cast<float>(y->second));
    }
    d.pseudonyms.push_back(pseudonym);
    for (size_t j = 0; j < variables.size(); ++j) {
      auto it = values.find(variables[j]);
      const bool present = it != values.end();
      d.features.push_back(present ? static_cast<float>(it->second) : nan);
      d.missing.push_back(present ? 0 : 1);
      d.present_counts[j] += present;
    }
  }
  return d;
}

}  // namespace

absl::Status CreateClinicalSchema(SQLite::Database& db) {
  try {
    db.exec(kSchema);
  } catch (const std::exception& e) {
    return SqlError("creating the schema", e);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> WriteClinicalImport(SQLite::Database& db, const ClinicalImportLog& log,
                                            const std::vector<std::string>& variables,
                                            const std::vector<PatientValues>& patients) {
  SCV_RETURN_IF_ERROR(CheckVariables(variables));
  SCV_RETURN_IF_ERROR(CreateClinicalSchema(db));
  try {
    SQLite::Transaction transaction(db);
    const int64_t import_id = InsertImportLog(db, log, static_cast<int64_t>(patients.size()));
    WritePatients(db, import_id, variables, patients);
    transaction.commit();
    return import_id;
  } catch (const std::exception& e) {
    return SqlError("writing an import (rolled back)", e);
  }
}

absl::StatusOr<ClinicalDataset> LoadClinicalDataset(SQLite::Database& db,
                                                    const std::vector<std::string>& variables,
                                                    const std::string& outcome) {
  SCV_RETURN_IF_ERROR(CheckVariables(variables));
  if (!outcome.empty()) SCV_RETURN_IF_ERROR(CheckVariables({outcome}));
  SCV_RETURN_IF_ERROR(CreateClinicalSchema(db));
  std::vector<std::string> names = variables;
  if (!outcome.empty()) names.push_back(outcome);
  try {
    ValueTable table = ReadValues(db, names);
    if (outcome.empty()) {
      // Patients with none of the variables still count as rows.
      SQLite::Statement q(db, "SELECT pseudonym FROM clinical_patient");
      while (q.executeStep()) table[q.getColumn(0).getString()];
    }
    return BuildDataset(table, variables, outcome);
  } catch (const std::exception& e) {
    return SqlError("loading a dataset", e);
  }
}

absl::StatusOr<std::map<std::string, double>> LoadPatientValues(SQLite::Database& db,
                                                                const std::string& pseudonym) {
  SCV_RETURN_IF_ERROR(CreateClinicalSchema(db));
  try {
    SQLite::Statement q(db, "SELECT variable, value FROM clinical_value WHERE pseudonym = ?");
    q.bind(1, pseudonym);
    std::map<std::string, double> out;
    while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getDouble();
    return out;
  } catch (const std::exception& e) {
    return SqlError("loading a patient", e);
  }
}

absl::StatusOr<int64_t> CountClinicalPatients(SQLite::Database& db) {
  SCV_RETURN_IF_ERROR(CreateClinicalSchema(db));
  try {
    return db.execAndGet("SELECT COUNT(*) FROM clinical_patient").getInt64();
  } catch (const std::exception& e) {
    return SqlError("counting patients", e);
  }
}

absl::StatusOr<std::map<std::string, int64_t>> ClinicalVariableCounts(SQLite::Database& db) {
  SCV_RETURN_IF_ERROR(CreateClinicalSchema(db));
  try {
    SQLite::Statement q(db, "SELECT variable, COUNT(*) FROM clinical_value GROUP BY variable");
    std::map<std::string, int64_t> out;
    while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
    return out;
  } catch (const std::exception& e) {
    return SqlError("counting values", e);
  }
}

}  // namespace scancov::node
