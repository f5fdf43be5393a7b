// The node's clinical store: admission variables and outcomes per pseudonymous patient, in
// the node's store (node/store/node_store.h, which owns the database and creates the tables;
// other modules keep their own tables in the same file).
//
// Schema (see node/clinical/SCHEMA.md):
//   clinical_import(import_id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL,
//                   sha256 TEXT NOT NULL, imported_at TEXT NOT NULL, mode TEXT NOT NULL,
//                   rows_read INTEGER NOT NULL, patients INTEGER NOT NULL,
//                   rows_skipped INTEGER NOT NULL)
//       one row per import; source is the file's base name, sha256 its content digest.
//   clinical_patient(pseudonym TEXT PRIMARY KEY, first_import_id INTEGER NOT NULL,
//                    last_import_id INTEGER NOT NULL)
//   clinical_value(pseudonym TEXT NOT NULL REFERENCES clinical_patient(pseudonym),
//                  variable TEXT NOT NULL, value REAL NOT NULL, import_id INTEGER NOT NULL,
//                  PRIMARY KEY (pseudonym, variable)) WITHOUT ROWID
//       long format: one row per present value, canonical variable name and unit
//       (sites/cohort/variables.h); a missing value has no row.
// No direct identifier is ever stored: patients are keyed by the HMAC pseudonym only.
//
// Thread safety: one caller at a time per NodeStore.
#ifndef SCANCOV_NODE_CLINICAL_CLINICAL_STORE_H_
#define SCANCOV_NODE_CLINICAL_CLINICAL_STORE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/store/node_store.h"

namespace scancov::node {

struct ClinicalImportLog {
  std::string source;  // base name of the imported file
  std::string sha256;  // hex digest of its bytes
  std::string imported_at;
  std::string mode;  // "all_or_nothing" or "skip_bad_rows"
  int64_t rows_read = 0;
  int64_t rows_skipped = 0;
};

// One patient's values for `variables` (same order); NaN = missing, which deletes a stored
// value: the imported file is authoritative for the columns it carries.
struct PatientValues {
  std::string pseudonym;
  std::vector<double> values;
};

// Writes one import in a single transaction (all or nothing) and returns its import_id.
// Upserts by pseudonym: re-importing the same file leaves the same values.
absl::StatusOr<int64_t> WriteClinicalImport(NodeStore& store, const ClinicalImportLog& log,
                                            const std::vector<std::string>& variables,
                                            const std::vector<PatientValues>& patients);

// A dataset for training or analysis, LibTorch-free: rows are patients (sorted by
// pseudonym) whose outcome is present; columns are `variables` in the order asked.
struct ClinicalDataset {
  std::vector<std::string> variables;
  std::string outcome;
  std::vector<std::string> pseudonyms;  // one per row
  std::vector<float> features;          // rows x variables, row-major; NaN where missing
  std::vector<uint8_t> missing;         // rows x variables, 1 where missing
  std::vector<float> outcome_values;    // one per row (empty when no outcome was asked)
  std::vector<int64_t> present_counts;  // per variable, over the rows

  size_t rows() const { return pseudonyms.size(); }
  size_t cols() const { return variables.size(); }
  float at(size_t row, size_t col) const { return features[row * cols() + col]; }
  bool is_missing(size_t row, size_t col) const { return missing[row * cols() + col] != 0; }
};

// Unknown variable names (not in the dictionary) are InvalidArgument. An empty `outcome`
// loads every patient and no outcome column.
absl::StatusOr<ClinicalDataset> LoadClinicalDataset(NodeStore& store,
                                                    const std::vector<std::string>& variables,
                                                    const std::string& outcome);

// Every stored value of one patient (variable -> value).
absl::StatusOr<std::map<std::string, double>> LoadPatientValues(NodeStore& store,
                                                                const std::string& pseudonym);
absl::StatusOr<int64_t> CountClinicalPatients(NodeStore& store);
// Number of patients with a value, per variable.
absl::StatusOr<std::map<std::string, int64_t>> ClinicalVariableCounts(NodeStore& store);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CLINICAL_CLINICAL_STORE_H_
