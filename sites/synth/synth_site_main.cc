// scancov-synth-site: a whole synthetic hospital export: the admission table (as
// scancov-synth-cohort writes it) plus a chest CT series as real DICOM for each of the first
// --ct-patients patients, with ground-truth labels beside each series.
//
//   DIR/admission.csv, DIR/ground_truth.json
//   DIR/ct/<patient id>/dicom/*.dcm, lungs.nii.gz, lesions.nii.gz, truth.json
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "core/file_util.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"
#include "sites/ct/phantom_writer.h"
#include "sites/synth/site_imaging.h"

namespace {

struct Flags {
  std::string site = "kb";
  uint64_t seed = 1;
  std::string out;
  int patients = 0;
  double case_mix = 0.0;
  std::string ct = "small";
  int ct_patients = 20;
  std::string log_level = "info";
};

absl::Status Run(const Flags& f) {
  using namespace scancov::sites;  // NOLINT: a main file
  SCV_ASSIGN_OR_RETURN(SiteProfile profile, SiteProfileFor(f.site, f.patients, f.case_mix));
  const SyntheticSite site = GenerateSite(profile, f.seed);
  SCV_RETURN_IF_ERROR(scancov::MakeDirs(f.out));
  SCV_RETURN_IF_ERROR(WriteAdmissionCsv(site, f.out + "/admission.csv"));
  SCV_RETURN_IF_ERROR(WriteGroundTruthJson(site, f.out + "/ground_truth.json"));
  spdlog::info("site {}: {} patients -> {}/admission.csv", profile.name, site.patients.size(),
               f.out);
  if (f.ct == "none") return absl::OkStatus();
  if (f.ct != "small" && f.ct != "full") {
    return absl::InvalidArgumentError("--ct must be small, full or none");
  }
  const ScannerSpec scanner =
      SiteScanner(profile.name, f.ct == "full" ? CtScale::kFull : CtScale::kSmall);
  const size_t n = f.ct_patients <= 0 ? site.patients.size()
                                      : std::min<size_t>(f.ct_patients, site.patients.size());
  for (size_t i = 0; i < n; ++i) {
    const SyntheticPatient& p = site.patients[i];
    const PhantomSpec spec = PhantomSpecFor(p, scanner, f.seed);
    SCV_ASSIGN_OR_RETURN(PhantomFiles files,
                         WritePhantomSeries(spec, f.out + "/ct/" + p.patient_id));
    spdlog::debug("CT {} of {}: {}", i + 1, n, files.dicom_dir);
  }
  spdlog::info("site {}: {} CT series ({} x {} x {}, {} mm slices) -> {}/ct", profile.name, n,
               scanner.columns, scanner.rows, scanner.number_of_slices, scanner.slice_thickness_mm,
               f.out);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Generate a synthetic hospital export: admission CSV, ground truth, and chest CT "
      "series as real DICOM with ground-truth labels (all data synthetic)."};
  Flags f;
  app.add_option("--site", f.site, "kb, igr, or any other name for a generic site")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "random seed (same seed, same site)")->capture_default_str();
  app.add_option("--out", f.out, "output directory")->required();
  app.add_option("--patients", f.patients, "number of patients (0: the site's default)");
  app.add_option("--case-mix", f.case_mix, "case-mix shift of a generic site");
  app.add_option("--ct", f.ct, "CT scale: small (128x128x40), full (512x512, ~300 mm), none")
      ->capture_default_str();
  app.add_option("--ct-patients", f.ct_patients, "CT for the first N patients (0: all)")
      ->capture_default_str();
  app.add_option("--log-level", f.log_level, "trace|debug|info|warn|error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = scancov::SetupLogging("synth-site", f.log_level); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  if (absl::Status s = Run(f); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return 1;
  }
  return 0;
}
