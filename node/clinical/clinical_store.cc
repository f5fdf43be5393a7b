#include "node/clinical/clinical_store.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

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
    sqlite::Row row(q);
    const std::string pseudonym = row.Text();
    const std::string variable = row.Text();
    table[pseudonym][variable] = row.Double();
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

absl::StatusOr<int64_t> WriteClinicalImport(NodeStore& store, const ClinicalImportLog& log,
                                            const std::vector<std::string>& variables,
                                            const std::vector<PatientValues>& patients) {
  SCV_RETURN_IF_ERROR(CheckVariables(variables));
  SQLite::Database& db = store.db();
  return sqlite::InTransaction(
      db, "clinical store: writing an import (rolled back)", [&]() -> absl::StatusOr<int64_t> {
        const int64_t import_id = InsertImportLog(db, log, static_cast<int64_t>(patients.size()));
        WritePatients(db, import_id, variables, patients);
        return import_id;
      });
}

absl::StatusOr<ClinicalDataset> LoadClinicalDataset(NodeStore& store,
                                                    const std::vector<std::string>& variables,
                                                    const std::string& outcome) {
  SCV_RETURN_IF_ERROR(CheckVariables(variables));
  if (!outcome.empty()) SCV_RETURN_IF_ERROR(CheckVariables({outcome}));
  std::vector<std::string> names = variables;
  if (!outcome.empty()) names.push_back(outcome);
  return sqlite::Guard(
      "clinical store: loading a dataset", [&]() -> absl::StatusOr<ClinicalDataset> {
        ValueTable table = ReadValues(store.db(), names);
        if (outcome.empty()) {
          // Patients with none of the variables still count as rows.
          SQLite::Statement q(store.db(), "SELECT pseudonym FROM clinical_patient");
          while (q.executeStep()) table[sqlite::Row(q).Text()];
        }
        return BuildDataset(table, variables, outcome);
      });
}

absl::StatusOr<std::map<std::string, double>> LoadPatientValues(NodeStore& store,
                                                                const std::string& pseudonym) {
  return sqlite::Guard(
      "clinical store: loading a patient", [&]() -> absl::StatusOr<std::map<std::string, double>> {
        SQLite::Statement q(store.db(),
                            "SELECT variable, value FROM clinical_value WHERE pseudonym = ?");
        q.bind(1, pseudonym);
        std::map<std::string, double> out;
        while (q.executeStep()) {
          sqlite::Row row(q);
          const std::string variable = row.Text();
          out[variable] = row.Double();
        }
        return out;
      });
}

absl::StatusOr<int64_t> CountClinicalPatients(NodeStore& store) {
  return sqlite::Guard("clinical store: counting patients", [&]() -> absl::StatusOr<int64_t> {
    return store.db().execAndGet("SELECT COUNT(*) FROM clinical_patient").getInt64();
  });
}

absl::StatusOr<std::map<std::string, int64_t>> ClinicalVariableCounts(NodeStore& store) {
  return sqlite::Guard(
      "clinical store: counting values", [&]() -> absl::StatusOr<std::map<std::string, int64_t>> {
        SQLite::Statement q(store.db(),
                            "SELECT variable, COUNT(*) FROM clinical_value GROUP BY variable");
        std::map<std::string, int64_t> out;
        while (q.executeStep()) {
          sqlite::Row row(q);
          const std::string variable = row.Text();
          out[variable] = row.Int64();
        }
        return out;
      });
}

}  // namespace scancov::node
