// bench_bedside: from a DICOM folder to the printed score (issue 6's bedside target: under 60 s
// for a full-scale chest CT on the 2-core machine), broken down by stage.
//
//   bench_bedside                         # full-scale phantom (512 x 512 x 400, 0.75 x 0.75 x 1
//   mm) bench_bedside --dicom /data/ct/patient1 --repeat 5 --threads 2
//
// Without --dicom it writes a full-scale phantom (FullScanner(): lesions 40% right / 30% left,
// GGO / crazy paving / consolidation 50 / 25 / 25%, 450 mm3 of calcium) to --work (default
// /tmp/scancov_bench_bedside) once and reuses it. Each run is what `scancov-score` does:
// ScorePatient (import/decode, lung mask, lesions, quantification, scores, report images), the
// terminal summary printed (to /dev/null after the first run), the HTML report and the JSON
// written. The files are in the page cache after the first run, as on a node that has just
// received the series. Reported: every run's stages, then the median per stage.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/file_util.h"
#include "node/bedside/bedside_report.h"
#include "node/bedside/score_patient.h"
#include "privacy/pseudonymizer.h"
#include "sites/ct/phantom_writer.h"

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

scancov::sites::PhantomSpec FullSpec() {
  scancov::sites::PhantomSpec spec;
  spec.seed = 11;
  spec.patient.patient_id = "BENCH-000001";
  spec.disease.extent_right = 0.4;
  spec.disease.extent_left = 0.3;
  spec.disease.ggo_fraction = 0.5;
  spec.disease.crazy_paving_fraction = 0.25;
  spec.disease.consolidation_fraction = 0.25;
  spec.calcium.coronary_mm3 = 150;
  spec.calcium.aorta_mm3 = 300;
  spec.scanner = scancov::sites::FullScanner();
  return spec;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dicom, work = "/tmp/scancov_bench_bedside";
  int threads = 0, repeat = 3;
  CLI::App app{"Bedside scoring: DICOM folder to printed score, by stage"};
  app.add_option("--dicom", dicom, "the patient's DICOM folder (default: a generated phantom)");
  app.add_option("--work", work, "where to generate the phantom, the secret and the reports");
  app.add_option("--threads", threads, "worker threads (0 = all cores)");
  app.add_option("--repeat", repeat, "timed runs");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::create_directories(work);
  if (dicom.empty()) {
    dicom = work + "/phantom/dicom";
    if (!std::filesystem::exists(dicom)) {
      const auto t0 = Clock::now();
      absl::StatusOr<scancov::sites::PhantomFiles> files =
          scancov::sites::WritePhantomSeries(FullSpec(), work + "/phantom");
      if (!files.ok()) {
        std::fprintf(stderr, "%s\n", std::string(files.status().message()).c_str());
        return 1;
      }
      std::printf("phantom written to %s in %.1f s\n", dicom.c_str(), Since(t0));
    }
  }
  scancov::node::BedsideRequest request;
  request.dicom_dir = dicom;
  request.clinical = scancov::scores::PatientInputs{
      {"age", 63}, {"sex", 1}, {"spo2", 91}, {"platelets", 210}, {"urea", 7.1}};
  request.options.secret_path = work + "/site.secret";
  request.options.threads = threads;
  if (!scancov::privacy::Pseudonymizer::FromSecretFile(request.options.secret_path).ok()) {
    std::fprintf(stderr, "cannot create the secret in %s\n", work.c_str());
    return 1;
  }

  std::map<std::string, std::vector<double>> stages;
  std::vector<std::string> order;
  for (int run = 0; run < repeat; ++run) {
    const auto t0 = Clock::now();
    absl::StatusOr<scancov::node::BedsideResult> r = scancov::node::ScorePatient(request);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", std::string(r.status().message()).c_str());
      return 1;
    }
    const auto t_report = Clock::now();
    const std::string text = scancov::node::BedsideSummaryText(*r);
    if (run == 0) std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    absl::Status written =
        scancov::WriteFileAtomic(work + "/report.html", scancov::node::BedsideReportHtml(*r));
    if (written.ok()) {
      written =
          scancov::WriteFileAtomic(work + "/result.json", scancov::node::BedsideResultJson(*r));
    }
    if (!written.ok()) {
      std::fprintf(stderr, "%s\n", std::string(written.message()).c_str());
      return 1;
    }
    const double report_files = Since(t_report), total = Since(t0);
    std::printf("run %d:", run + 1);
    for (const auto& [stage, s] : r->timings) {
      if (run == 0) order.push_back(stage);
      stages[stage].push_back(s);
      std::printf(" %s %.2f s;", stage.c_str(), s);
    }
    stages["summary + report files"].push_back(report_files);
    stages["total"].push_back(total);
    std::printf(" summary + report files %.2f s; total %.2f s\n", report_files, total);
  }
  order.push_back("summary + report files");
  order.push_back("total");
  std::printf("\n| stage | median of %d runs, s |\n|---|---|\n", repeat);
  for (const std::string& stage : order) {
    std::printf("| %s | %.2f |\n", stage.c_str(), Median(stages[stage]));
  }
  return 0;
}
