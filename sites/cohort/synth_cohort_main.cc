// scancov-synth-cohort: writes a synthetic site's admission table and ground truth.
//
//   scancov-synth-cohort --site kb --seed 7 --out /tmp/kb
//   scancov-synth-cohort --site site3 --patients 300 --case-mix 0.5 --out /tmp/site3
#include <cstdint>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"
#include "sites/cohort/variables.h"
#include "spdlog/spdlog.h"

namespace {

struct Flags {
  std::string site = "kb";
  uint64_t seed = 1;
  std::string out;
  int patients = 0;
  double case_mix = 0.0;
  bool unit_headers = false;
  bool no_identifiers = false;
  bool dictionary = false;
  std::string log_level = "info";
};

absl::Status Run(const Flags& f) {
  SCV_ASSIGN_OR_RETURN(scancov::sites::SiteProfile profile,
                       scancov::sites::SiteProfileFor(f.site, f.patients, f.case_mix));
  const scancov::sites::SyntheticSite site = scancov::sites::GenerateSite(profile, f.seed);
  SCV_RETURN_IF_ERROR(scancov::MakeDirs(f.out));
  scancov::sites::CsvWriteOptions options;
  options.unit_suffixed_headers = f.unit_headers;
  options.include_identifiers = !f.no_identifiers;
  const std::string csv = f.out + "/admission.csv";
  const std::string truth = f.out + "/ground_truth.json";
  SCV_RETURN_IF_ERROR(scancov::sites::WriteAdmissionCsv(site, csv, options));
  SCV_RETURN_IF_ERROR(scancov::sites::WriteGroundTruthJson(site, truth));
  int severe = 0;
  for (const auto& p : site.patients) severe += p.outcomes.severe;
  spdlog::info("site {}: {} synthetic patients ({} severe) -> {}, {}", profile.name,
               site.patients.size(), severe, csv, truth);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Generate a synthetic ScanCov-like site: admission.csv and ground_truth.json"};
  Flags f;
  app.add_option("--site", f.site, "kb, igr, or any other name for a generic site")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "random seed (same seed, same cohort)")->capture_default_str();
  auto* out = app.add_option("--out", f.out, "output directory (created if missing)");
  app.add_flag("--dictionary", f.dictionary,
               "print the variable dictionary as Markdown (VARIABLES.md) and exit");
  app.add_option("--patients", f.patients,
                 "number of patients (default: 800 for kb, 140 for igr; required otherwise)");
  app.add_option("--case-mix", f.case_mix,
                 "generic sites: case-mix shift in [-1, 1] (older, sicker, more cancer when > 0)")
      ->check(CLI::Range(-1.0, 1.0))
      ->capture_default_str();
  app.add_flag("--unit-headers", f.unit_headers, "write unit-suffixed headers (urea_mmol_L)");
  app.add_flag("--no-identifiers", f.no_identifiers, "omit the fake name and birth_date columns");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (f.dictionary) {
    std::cout << scancov::sites::DictionaryMarkdown();
    return 0;
  }
  if (out->count() == 0) {
    std::cerr << "--out is required\n" << app.help();
    return 2;
  }
  if (absl::Status s = scancov::SetupLogging("synth-cohort", f.log_level); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  if (absl::Status s = Run(f); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return 1;
  }
  return 0;
}
