#include "sites/cohort/cohort_export.h"

#include "core/file_util.h"
#include "core/status_macros.h"
#include "sites/cohort/cohort_generator.h"

namespace scancov::sites {

absl::StatusOr<CohortExportSummary> WriteCohortExport(const CohortExportOptions& options,
                                                      const std::string& out) {
  SCV_ASSIGN_OR_RETURN(SiteProfile profile,
                       SiteProfileFor(options.site, options.patients, options.case_mix));
  const SyntheticSite site = GenerateSite(profile, options.seed);
  SCV_RETURN_IF_ERROR(MakeDirs(out));
  CohortExportSummary summary;
  summary.site = profile.name;
  summary.csv_path = out + "/admission.csv";
  summary.truth_path = out + "/ground_truth.json";
  SCV_RETURN_IF_ERROR(WriteAdmissionCsv(site, summary.csv_path, options.csv));
  SCV_RETURN_IF_ERROR(WriteGroundTruthJson(site, summary.truth_path));
  summary.patients = static_cast<int>(site.patients.size());
  for (const SyntheticPatient& p : site.patients) summary.severe += p.outcomes.severe;
  return summary;
}

}  // namespace scancov::sites
