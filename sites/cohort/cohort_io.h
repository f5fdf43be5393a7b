// Writers for a synthetic site: the admission table a hospital would export (CSV) and the
// ground truth (JSON) that tests and analyses check against.
//
// CSV format (the format the node's clinical importer reads, documented in VARIABLES.md):
//   - UTF-8, comma-separated, '\n' line ends, one header row, one row per patient;
//   - columns: patient_id, name, birth_date (fake direct identifiers, for testing that the
//     importer drops them; omit with include_identifiers=false, patient_id is always written),
//     then the admission variables in dictionary order, then the outcome columns;
//   - headers are the bare canonical names, or with unit_suffixed_headers the name plus the
//     canonical unit suffix ("urea_mmol_L"); values are always in the canonical unit;
//   - a missing value is an empty cell; numbers use '.' and the shortest exact representation.
#ifndef SCANCOV_SITES_COHORT_COHORT_IO_H_
#define SCANCOV_SITES_COHORT_COHORT_IO_H_

#include <string>

#include "absl/status/status.h"
#include "sites/cohort/cohort_generator.h"

namespace scancov::sites {

struct CsvWriteOptions {
  bool unit_suffixed_headers = false;
  bool include_identifiers = true;  // name and birth_date columns
  bool include_outcomes = true;
};

std::string AdmissionCsv(const SyntheticSite& site, const CsvWriteOptions& options = {});
absl::Status WriteAdmissionCsv(const SyntheticSite& site, const std::string& path,
                               const CsvWriteOptions& options = {});

// The ground truth as JSON: site profile and seed, the three outcome models (terms and
// coefficients), the seed's odds ratios, the association class of every admission variable,
// and per patient (by fake patient_id) the true probabilities, outcomes and imaging parameters.
std::string GroundTruthJson(const SyntheticSite& site);
absl::Status WriteGroundTruthJson(const SyntheticSite& site, const std::string& path);

// Shortest decimal text that parses back to exactly `v` ("" for NaN).
std::string FormatNumber(double v);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_COHORT_COHORT_IO_H_
