#include "node/clinical/clinical_import.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical/csv_dialect.h"
#include "node/clinical/csv_parser.h"
#include "node/clinical/decimal_style.h"
#include "node/clinical/import_plan.h"
#include "spdlog/spdlog.h"

namespace scancov::node {
namespace {

using internal::ImportPlan;

struct ParsedRow {
  int line = 0;
  std::string id;              // the raw identifier: never logged, never in a message
  std::vector<double> values;  // per plan.variables, canonical unit, NaN = missing
  std::vector<std::string> errors;
};

void ParseRow(absl::string_view file, const CsvRecord& rec, const ImportPlan& plan,
              ParsedRow& row) {
  row.line = rec.line;
  if (rec.fields.size() != plan.columns.size()) {  // malformed: values stay empty
    const size_t col = std::min(rec.fields.size(), plan.columns.size());
    const std::string where = col < plan.columns.size()
                                  ? internal::Where(file, rec.line, col, plan.columns[col].header)
                                  : absl::StrCat(file, ":", rec.line, ":", col + 1);
    row.errors.push_back(absl::StrCat(where, ": malformed row: ", rec.fields.size(),
                                      " fields, the header has ", plan.columns.size()));
    return;
  }
  row.values.assign(plan.variables.size(), std::nan(""));
  row.id = std::string(absl::StripAsciiWhitespace(rec.fields[plan.id_index]));
  for (size_t k = 0; k < plan.variable_fields.size(); ++k) {
    const int f = plan.variable_fields[k];
    std::string why;
    const double v = internal::ParseCell(plan.columns[f], rec.fields[f], plan.decimal, &why);
    if (!why.empty()) {
      row.errors.push_back(
          absl::StrCat(internal::Where(file, rec.line, f, plan.columns[f].header), ": ", why));
    }
    row.values[k] = v;
  }
}

std::vector<ParsedRow> ParseRows(absl::string_view file, const std::vector<CsvRecord>& records,
                                 const ImportPlan& plan, bool fill_id_forward, Progress* progress) {
  std::vector<ParsedRow> rows(records.size() - 1);
  const int64_t total = static_cast<int64_t>(rows.size());
  std::string last_id;
  for (size_t r = 1; r < records.size(); ++r) {
    if (progress != nullptr) progress->SetCount("row", static_cast<int64_t>(r - 1), total);
    ParsedRow& row = rows[r - 1];
    ParseRow(file, records[r], plan, row);
    if (row.values.empty()) continue;  // malformed
    if (row.id.empty() && fill_id_forward) row.id = last_id;
    if (row.id.empty()) {
      row.errors.push_back(absl::StrCat(
          internal::Where(file, row.line, plan.id_index, plan.columns[plan.id_index].header),
          ": empty patient identifier"));
    }
    last_id = row.id;
  }
  return rows;
}

// Whole-column unit problems refuse the file whatever the mode.
absl::Status CheckUnits(absl::string_view file, int header_line, const ImportPlan& plan,
                        const std::vector<ParsedRow>& rows) {
  std::vector<std::string> errors;
  for (size_t k = 0; k < plan.variables.size(); ++k) {
    const int f = plan.variable_fields[k];
    if (plan.columns[f].unit_declared) continue;  // the steward said which unit it is
    std::vector<double> column;
    for (const ParsedRow& row : rows) {
      if (!row.values.empty()) column.push_back(row.values[k]);
    }
    const std::string why = internal::CheckColumnUnits(*plan.columns[f].spec, std::move(column));
    if (!why.empty()) {
      errors.push_back(
          absl::StrCat(internal::Where(file, header_line, f, plan.columns[f].header), ": ", why));
    }
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
}

void CheckRowValues(absl::string_view file, const ImportPlan& plan, bool one_row_per_patient,
                    std::vector<ParsedRow>& rows) {
  absl::flat_hash_map<std::string, int> first_line;
  for (ParsedRow& row : rows) {
    if (row.values.empty()) continue;
    for (size_t k = 0; k < plan.variables.size(); ++k) {
      if (std::isnan(row.values[k])) continue;
      const int f = plan.variable_fields[k];
      const std::string why = internal::CheckValue(*plan.columns[f].spec, row.values[k]);
      if (!why.empty()) {
        row.errors.push_back(
            absl::StrCat(internal::Where(file, row.line, f, plan.columns[f].header), ": ", why));
      }
    }
    if (!one_row_per_patient || row.id.empty()) continue;
    auto [it, inserted] = first_line.emplace(row.id, row.line);
    if (!inserted) {
      row.errors.push_back(absl::StrCat(
          internal::Where(file, row.line, plan.id_index, plan.columns[plan.id_index].header),
          ": duplicate patient: same identifier as line ", it->second));
    }
  }
}

// Reduces good rows to one PatientValues per identifier, in order of first appearance.
std::vector<PatientValues> Aggregate(const std::vector<ParsedRow>& rows, RowsPerPatient mode,
                                     const privacy::Pseudonymizer& pseudonymizer) {
  std::vector<PatientValues> patients;
  absl::flat_hash_map<std::string, size_t> index;
  for (const ParsedRow& row : rows) {
    if (!row.errors.empty()) continue;
    auto [it, inserted] = index.emplace(row.id, patients.size());
    if (inserted) {
      patients.push_back({pseudonymizer.Pseudonym(row.id), row.values});
      continue;
    }
    if (mode != RowsPerPatient::kFirstValue) continue;  // kOne never gets here
    std::vector<double>& values = patients[it->second].values;
    for (size_t k = 0; k < values.size(); ++k) {
      if (std::isnan(values[k])) values[k] = row.values[k];
    }
  }
  return patients;
}

absl::Status Refuse(absl::string_view source, const std::vector<std::string>& errors, int max) {
  const size_t shown = std::min<size_t>(errors.size(), std::max(1, max));
  std::vector<std::string> first(errors.begin(), errors.begin() + shown);
  return absl::InvalidArgumentError(
      absl::StrCat("clinical import of ", source, " refused, nothing imported: ", errors.size(),
                   " error(s)", shown < errors.size() ? absl::StrCat(" (first ", shown, ")") : "",
                   ": ", absl::StrJoin(first, "; ")));
}

ClinicalImportLog MakeLog(absl::string_view source, absl::string_view text,
                          const ClinicalImportOptions& options, int64_t rows, int64_t skipped) {
  Clock* clock = options.clock != nullptr ? options.clock : Clock::Real();
  ClinicalImportLog log;
  log.source = std::filesystem::path(std::string(source)).filename().string();
  log.sha256 = ToHex(Sha256Digest(text));
  log.imported_at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", clock->Now(), absl::UTCTimeZone());
  log.mode = options.skip_bad_rows ? "skip_bad_rows" : "all_or_nothing";
  log.rows_read = rows;
  log.rows_skipped = skipped;
  return log;
}

}  // namespace

absl::StatusOr<ClinicalImportReport> ImportClinicalCsvText(
    NodeStore& store, const privacy::Pseudonymizer& pseudonymizer, absl::string_view source,
    absl::string_view text, const ClinicalImportOptions& options) {
  const ColumnMapping* mapping = options.mapping;
  const CsvDialect declared = mapping != nullptr ? mapping->csv : CsvDialect{};
  SCV_ASSIGN_OR_RETURN(DecodedCsv csv, ReadCsv(source, text, declared));
  const std::vector<CsvRecord>& records = csv.records;
  if (records.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": empty file"));
  SCV_ASSIGN_OR_RETURN(ImportPlan plan, internal::PlanColumns(source, records.front(), mapping));
  SCV_ASSIGN_OR_RETURN(
      plan.decimal,
      internal::ChooseDecimal(source, records, plan, declared.decimal, csv.separator, &csv.notes));
  const RowsPerPatient mode = mapping != nullptr ? mapping->rows_per_patient : RowsPerPatient::kOne;
  if (options.progress != nullptr) options.progress->SetStage("clinical import:");
  std::vector<ParsedRow> rows = ParseRows(
      source, records, plan, mapping != nullptr && mapping->fill_id_forward, options.progress);
  SCV_RETURN_IF_ERROR(CheckUnits(source, records.front().line, plan, rows));
  CheckRowValues(source, plan, mode == RowsPerPatient::kOne, rows);

  ClinicalImportReport report;
  report.source = std::string(source);
  report.dialect = {csv.separator, plan.decimal, csv.encoding};
  report.notes = std::move(csv.notes);
  report.rows_read = static_cast<int64_t>(rows.size());
  for (const ParsedRow& row : rows) {
    for (const std::string& e : row.errors) report.row_errors.push_back(e);
    report.rows_skipped += !row.errors.empty();
  }
  if (!report.row_errors.empty() && !options.skip_bad_rows) {
    return Refuse(source, report.row_errors, options.max_reported_errors);
  }
  const std::vector<PatientValues> patients = Aggregate(rows, mode, pseudonymizer);
  const ClinicalImportLog log =
      MakeLog(source, text, options, report.rows_read, report.rows_skipped);
  const int64_t n_patients = static_cast<int64_t>(patients.size());
  if (options.progress != nullptr) {
    options.progress->SetCount("row", report.rows_read, report.rows_read);
    options.progress->SetStage("clinical import: writing,");
    options.progress->SetCount("patient", 0, n_patients);
  }
  SCV_ASSIGN_OR_RETURN(report.import_id, WriteClinicalImport(store, log, plan.variables, patients));
  if (options.progress != nullptr) options.progress->SetCount("patient", n_patients, n_patients);
  report.patients_imported = static_cast<int64_t>(patients.size());
  report.dropped_columns = plan.dropped;
  report.variables = plan.variables;
  spdlog::info("clinical import {}: {} patients, {} variables, {} rows skipped, {} columns dropped",
               std::string(source), report.patients_imported, report.variables.size(),
               report.rows_skipped, report.dropped_columns.size());
  for (const std::string& note : report.notes) {
    spdlog::info("clinical import {}: {}", std::string(source), note);
  }
  return report;
}

absl::StatusOr<ClinicalImportReport> ImportClinicalCsv(NodeStore& store,
                                                       const privacy::Pseudonymizer& pseudonymizer,
                                                       const std::string& path,
                                                       const ClinicalImportOptions& options) {
  SCV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ImportClinicalCsvText(store, pseudonymizer, path, text, options);
}

}  // namespace scancov::node
