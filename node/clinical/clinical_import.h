// Import of a site's admission table (CSV) into the node's clinical store.
//
//   absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::Open(config.store);
//   auto pseudonymizer = privacy::Pseudonymizer::FromSecretFile(secret_path);
//   absl::StatusOr<ClinicalImportReport> r =
//       ImportClinicalCsv(**store, *pseudonymizer, "/data/admission.csv");
//
// The CSV format is the one sites/cohort writes (sites/cohort/VARIABLES.md): one row per
// patient, a `patient_id` column, canonical column names, canonical units; or any export
// through a ColumnMapping. The file may be `,`, `;` or tab separated, with '.' or ',' decimals,
// in UTF-8, Latin-1 or Windows-1252: the mapping declares that dialect or it is detected
// (csv_dialect.h, decimal_style.h), and the report's notes say what was detected or converted
// (never quoting a value). On import:
//   - the patient identifier is replaced by its HMAC pseudonym; direct-identifier columns
//     (name, birth date, free text, ...) are dropped; no identifier or identifier-column
//     content is stored, logged or put in an error message (errors name file:line:column and
//     the column, never a cell's content);
//   - unknown columns, wrong units (a unit-suffixed header in another unit, or a column whose
//     median only makes sense in another unit), out-of-range values, non-numeric cells,
//     malformed rows (wrong number of fields) and duplicate patients are errors (the
//     column-median unit check is skipped for a column whose unit a mapping declares);
//   - by default the import is all or nothing: any error and the store is left unchanged.
//     With skip_bad_rows, each bad row is reported and skipped and the rest imported (header
//     and whole-column problems still refuse the file);
//   - values are upserted by pseudonym, so re-importing a file is idempotent.
//
// Thread safety: one caller at a time per NodeStore.
#ifndef SCANCOV_NODE_CLINICAL_CLINICAL_IMPORT_H_
#define SCANCOV_NODE_CLINICAL_CLINICAL_IMPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/env.h"
#include "core/progress.h"
#include "node/clinical/column_mapping.h"
#include "node/store/node_store.h"
#include "privacy/pseudonymizer.h"

namespace scancov::node {

struct ClinicalImportOptions {
  bool skip_bad_rows = false;
  const ColumnMapping* mapping = nullptr;  // not owned; nullptr = dictionary columns
  int max_reported_errors = 20;            // in the returned status message
  Clock* clock = nullptr;                  // for the import log; nullptr = Clock::Real()
  // Where the import reports how far it is (core/progress.h): "clinical import: row" with the
  // rows parsed of the file's, then "clinical import: writing, patient" with patients stored.
  // Counts only. Not owned; nullptr: not reported.
  Progress* progress = nullptr;
};

struct ClinicalImportReport {
  std::string source;  // the path as given
  int64_t import_id = 0;
  int64_t rows_read = 0;
  int64_t patients_imported = 0;
  int64_t rows_skipped = 0;
  std::vector<std::string> row_errors;       // skip_bad_rows: why each row was skipped
  std::vector<std::string> dropped_columns;  // headers of dropped (identifier) columns
  std::vector<std::string> variables;        // canonical variables imported
  CsvDialect dialect;                        // as read: separator, decimal, encoding
  std::vector<std::string> notes;            // detected dialect, encoding conversion
};

absl::StatusOr<ClinicalImportReport> ImportClinicalCsv(NodeStore& store,
                                                       const privacy::Pseudonymizer& pseudonymizer,
                                                       const std::string& path,
                                                       const ClinicalImportOptions& options = {});

// The same from CSV text; `source` names it in errors and in the import log.
absl::StatusOr<ClinicalImportReport> ImportClinicalCsvText(
    NodeStore& store, const privacy::Pseudonymizer& pseudonymizer, absl::string_view source,
    absl::string_view text, const ClinicalImportOptions& options = {});

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CLINICAL_CLINICAL_IMPORT_H_
