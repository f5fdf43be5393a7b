#include "sites/synth/site_export.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/file_util.h"
#include "core/status_macros.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"
#include "sites/ct/phantom_writer.h"
#include "sites/synth/site_imaging.h"

namespace scancov::sites {

absl::StatusOr<SiteExportSummary> WriteSiteExport(const SiteExportOptions& o,
                                                  const std::string& out) {
  SCV_ASSIGN_OR_RETURN(SiteProfile profile, SiteProfileFor(o.site, o.patients, o.case_mix));
  const SyntheticSite site = GenerateSite(profile, o.seed);
  SCV_RETURN_IF_ERROR(MakeDirs(out));
  SCV_RETURN_IF_ERROR(WriteAdmissionCsv(site, out + "/admission.csv"));
  SCV_RETURN_IF_ERROR(WriteGroundTruthJson(site, out + "/ground_truth.json"));
  spdlog::info("site {}: {} patients -> {}/admission.csv", profile.name, site.patients.size(), out);
  SiteExportSummary summary;
  summary.patients = static_cast<int>(site.patients.size());
  if (o.ct == "none") return summary;
  if (o.ct != "small" && o.ct != "full") {
    return absl::InvalidArgumentError("--ct must be small, full or none");
  }
  const ScannerSpec scanner =
      SiteScanner(profile.name, o.ct == "full" ? CtScale::kFull : CtScale::kSmall);
  const size_t n = o.ct_patients <= 0 ? site.patients.size()
                                      : std::min<size_t>(o.ct_patients, site.patients.size());
  for (size_t i = 0; i < n; ++i) {
    const SyntheticPatient& p = site.patients[i];
    const PhantomSpec spec = PhantomSpecFor(p, scanner, o.seed);
    SCV_ASSIGN_OR_RETURN(PhantomFiles files, WritePhantomSeries(spec, out + "/ct/" + p.patient_id));
    spdlog::debug("CT {} of {}: {}", i + 1, n, files.dicom_dir);
  }
  spdlog::info("site {}: {} CT series ({} x {} x {}, {} mm slices) -> {}/ct", profile.name, n,
               scanner.columns, scanner.rows, scanner.number_of_slices, scanner.slice_thickness_mm,
               out);
  summary.ct_series = static_cast<int>(n);
  return summary;
}

}  // namespace scancov::sites
