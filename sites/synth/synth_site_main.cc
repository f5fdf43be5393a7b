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

#include "core/cli.h"
#include "core/logging.h"
#include "sites/synth/site_export.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Generate a synthetic hospital export: admission CSV, ground truth, and chest CT "
      "series as real DICOM with ground-truth labels (all data synthetic)."};
  scancov::AddVersionAndExitCodes(app, "scancov-synth-site");
  scancov::sites::SiteExportOptions f;
  std::string out, log_level = "info";
  app.add_option("--site", f.site, "kb, igr, or any other name for a generic site")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "random seed (same seed, same site)")->capture_default_str();
  app.add_option("--out", out, "output directory")->required();
  app.add_option("--patients", f.patients, "number of patients (0: the site's default)");
  app.add_option("--case-mix", f.case_mix, "case-mix shift of a generic site");
  app.add_option("--ct", f.ct, "CT scale: small (128x128x40), full (512x512, ~300 mm), none")
      ->capture_default_str();
  app.add_option("--ct-patients", f.ct_patients, "CT for the first N patients (0: all)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;
  if (absl::Status s = scancov::SetupLogging("synth-site", log_level); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  if (absl::Status s = scancov::sites::WriteSiteExport(f, out).status(); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return 1;
  }
  return 0;
}
