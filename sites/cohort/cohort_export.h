// A synthetic site's admission table and ground truth on disk, as scancov-synth-cohort writes
// them: <out>/admission.csv (cohort_io.h, with the chosen header and identifier options) and
// <out>/ground_truth.json.
#ifndef SCANCOV_SITES_COHORT_COHORT_EXPORT_H_
#define SCANCOV_SITES_COHORT_COHORT_EXPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "sites/cohort/cohort_io.h"

namespace scancov::sites {

struct CohortExportOptions {
  std::string site = "kb";  // kb, igr, or any other name for a generic site
  uint64_t seed = 1;        // same seed, same cohort
  int patients = 0;         // 0: the named site's default
  double case_mix = 0.0;    // generic sites: case-mix shift in [-1, 1]
  CsvWriteOptions csv;
};

struct CohortExportSummary {
  std::string site;  // the profile's name
  int patients = 0;
  int severe = 0;
  std::string csv_path, truth_path;
};

// Writes both files under `out` (created if missing); errors of the profile or the writes.
absl::StatusOr<CohortExportSummary> WriteCohortExport(const CohortExportOptions& options,
                                                      const std::string& out);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_COHORT_COHORT_EXPORT_H_
