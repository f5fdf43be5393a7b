// scancov-synth-cohort: writes a synthetic site's admission table and ground truth.
//
//   scancov-synth-cohort --site kb --seed 7 --out /tmp/kb
//   scancov-synth-cohort --site site3 --patients 300 --case-mix 0.5 --out /tmp/site3
#include <cstdint>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "core/cli.h"
#include "core/logging.h"
#include "sites/cohort/cohort_export.h"
#include "sites/cohort/variables.h"
#include "spdlog/spdlog.h"

namespace {

struct Flags {
  scancov::sites::CohortExportOptions cohort;
  std::string out;
  bool unit_headers = false;
  bool no_identifiers = false;
  bool dictionary = false;
  std::string log_level = "info";
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Generate a synthetic ScanCov-like site: admission.csv and ground_truth.json"};
  scancov::AddVersionAndExitCodes(app, "scancov-synth-cohort");
  Flags f;
  app.add_option("--site", f.cohort.site, "kb, igr, or any other name for a generic site")
      ->capture_default_str();
  app.add_option("--seed", f.cohort.seed, "random seed (same seed, same cohort)")
      ->capture_default_str();
  auto* out = app.add_option("--out", f.out, "output directory (created if missing)");
  app.add_flag("--dictionary", f.dictionary,
               "print the variable dictionary as Markdown (VARIABLES.md) and exit");
  app.add_option("--patients", f.cohort.patients,
                 "number of patients (default: 800 for kb, 140 for igr; required otherwise)");
  app.add_option("--case-mix", f.cohort.case_mix,
                 "generic sites: case-mix shift in [-1, 1] (older, sicker, more cancer when > 0)")
      ->check(CLI::Range(-1.0, 1.0))
      ->capture_default_str();
  app.add_flag("--unit-headers", f.unit_headers, "write unit-suffixed headers (urea_mmol_L)");
  app.add_flag("--no-identifiers", f.no_identifiers, "omit the fake name and birth_date columns");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;
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
  f.cohort.csv.unit_suffixed_headers = f.unit_headers;
  f.cohort.csv.include_identifiers = !f.no_identifiers;
  absl::StatusOr<scancov::sites::CohortExportSummary> written =
      scancov::sites::WriteCohortExport(f.cohort, f.out);
  if (!written.ok()) {
    spdlog::error("{}", std::string(written.status().message()));
    return 1;
  }
  spdlog::info("site {}: {} synthetic patients ({} severe) -> {}, {}", written->site,
               written->patients, written->severe, written->csv_path, written->truth_path);
  return 0;
}
