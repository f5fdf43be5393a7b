// A whole synthetic hospital export on disk, as scancov-synth-site writes it: the admission
// table and ground truth of a generated site (sites/cohort), plus a chest CT series as real
// DICOM with ground-truth labels for each of its first patients (site_imaging.h, sites/ct):
//
//   <out>/admission.csv, <out>/ground_truth.json
//   <out>/ct/<patient id>/dicom/*.dcm, lungs.nii.gz, lesions.nii.gz, truth.json
//
// All data synthetic. Logs one line per stage (info) and per CT (debug).
#ifndef SCANCOV_SITES_SYNTH_SITE_EXPORT_H_
#define SCANCOV_SITES_SYNTH_SITE_EXPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace scancov::sites {

struct SiteExportOptions {
  std::string site = "kb";   // kb, igr, or any other name for a generic site
  uint64_t seed = 1;         // same seed, same site
  int patients = 0;          // 0: the site's default
  double case_mix = 0.0;     // case-mix shift of a generic site
  std::string ct = "small";  // "small" (128 x 128 x 40), "full" (512 x 512, ~300 mm), "none"
  int ct_patients = 20;      // CT for the first N patients (0: all)
};

struct SiteExportSummary {
  int patients = 0;
  int ct_series = 0;
};

// Writes the export under `out` (created if missing). InvalidArgument for an unknown --ct
// scale ("--ct must be small, full or none", after the tables are written) or site profile.
absl::StatusOr<SiteExportSummary> WriteSiteExport(const SiteExportOptions& options,
                                                  const std::string& out);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_SYNTH_SITE_EXPORT_H_
