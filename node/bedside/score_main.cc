// scancov-score: bedside scoring of one patient from a DICOM folder and a few clinical values.
//
//   scancov-score --dicom DIR --age 63 --sex M --spo2 91 --platelets 210 --urea 7.1
//       [--ldh 320 --crp 80 --lymphocytes 0.8 --respiratory-rate 24 ...]
//       (--config site.json | --secret FILE) [--lung-model ckpt] [--lesion-model ckpt ...]
//       [--aiscore-model model.json] [--report out.html] [--json out.json] [--seg out.dcm]
//
// Exit status (core/cli.h): 0 complete (ScanCov computed); 1 the request was refused (no chest
// CT, unreadable folder, bad model file...); 2 usage or configuration error (bad flags, site
// file); 3 incomplete (CT analysed but ScanCov not computable: a required input missing or
// implausible; the outputs say so); 4 an output could not be written. The terminal, the JSON
// and the HTML name the patient only by the pseudonymous ID.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <map>

#include "core/cli.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "node/bedside/bedside_report.h"
#include "node/bedside/score_command.h"
#include "node/bedside/score_patient.h"
#include "sites/config/site_config.h"

namespace {

using scancov::node::BedsideRequest;
using scancov::node::BedsideResult;

// Besides core/cli.h's 0 (scored), 1 (no score: the input was refused) and 2 (usage):
constexpr int kIncomplete = 3;    // scored, but an input was missing (the result says which)
constexpr int kOutputFailed = 4;  // scored, but a --report/--json/--seg file was not written

// The clinical flags: CLI name -> PatientInputs name (canonical units in the help).
const std::vector<std::tuple<std::string, std::string, std::string>>& ClinicalFlags() {
  static const auto* flags = new std::vector<std::tuple<std::string, std::string, std::string>>{
      {"--age", "age", "age, years (required)"},
      {"--spo2", "spo2", "SpO2, % (required)"},
      {"--platelets", "platelets", "platelets, G/L = 10^9/L (required)"},
      {"--urea", "urea", "urea, mmol/L (required)"},
      {"--ldh", "ldh", "LDH, U/L"},
      {"--crp", "crp", "CRP, mg/L"},
      {"--lymphocytes", "lymphocytes", "lymphocytes, G/L"},
      {"--neutrophils", "neutrophils", "neutrophils, G/L"},
      {"--respiratory-rate", "respiratory_rate", "respiratory rate, /min"},
      {"--systolic-bp", "systolic_bp", "systolic blood pressure, mmHg"},
      {"--diastolic-bp", "diastolic_bp", "diastolic blood pressure, mmHg"},
      {"--confusion", "confusion", "new mental confusion, 0/1"},
      {"--comorbidity", "comorbidity", "at least one comorbidity (CALL), 0/1"}};
  return *flags;
}

// The command line as parsed, before it becomes a request.
struct Flags {
  BedsideRequest request;
  std::string sex, config_path, report, json, seg, log_level = "warn";
  std::vector<std::string> extra;
  std::map<std::string, double> clinical;
  bool timings = false;
};

void AddFlags(CLI::App& app, Flags& f) {
  scancov::node::BedsideOptions& o = f.request.options;
  app.add_option("--dicom", f.request.dicom_dir, "folder with the patient's DICOM files")
      ->required();
  app.add_option("--sex", f.sex, "M or F (required)");
  for (const auto& [flag, name, help] : ClinicalFlags()) {
    app.add_option_function<double>(
        flag, [&f, n = name](double v) { f.clinical[n] = v; }, help);
  }
  app.add_option("--input", f.extra, "any other score input as name=value (canonical units)");
  auto* config = app.add_option("--config", f.config_path, "the node's site file (its secret)");
  app.add_option("--secret", o.secret_path, "the site's pseudonymisation secret file")
      ->excludes(config);
  app.add_option("--lung-model", o.lung_checkpoint, "unet2d checkpoint (default: model-free)");
  app.add_option("--lesion-model", o.lesion_checkpoints,
                 "unet25d / unet3d checkpoint, repeatable (default: HU intervals)");
  app.add_option(
         "--model-in-plane", o.model_in_plane,
         "slice size the learned models were trained at (-1: as recorded in the checkpoint, "
         "0: native grid)")
      ->capture_default_str();
  app.add_option("--device", o.device, "auto, cpu or cuda (learned models)")->capture_default_str();
  app.add_option("--precision", o.precision,
                 "auto, fp32 or bf16 (learned models; auto: bf16 where the CPU or GPU computes "
                 "it natively)")
      ->capture_default_str();
  app.add_option("--aiscore-model", o.aiscore_model_path,
                 "AI-SCoRE model file (scancov-coord export-model)");
  app.add_option("--report", f.report, "write the one-page HTML report here");
  app.add_option("--json", f.json, "write the result as JSON here");
  app.add_option("--seg", f.seg, "write the lung and lesion maps as a DICOM SEG here");
  app.add_option("--threads", o.threads, "worker threads (0: all cores)")->capture_default_str();
  app.add_flag("--timings", f.timings, "print the wall time of each stage");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
}

// Logging, the site file's secret and the clinical values into f.request.
absl::Status CompleteRequest(Flags& f) {
  SCV_RETURN_IF_ERROR(scancov::SetupLogging("bedside", f.log_level));
  if (!f.config_path.empty()) {
    SCV_ASSIGN_OR_RETURN(scancov::sites::SiteConfig config,
                         scancov::sites::LoadSiteConfig(f.config_path));
    f.request.options.secret_path = config.secret;
  }
  for (const auto& [name, value] : f.clinical) f.request.clinical.Set(name, value);
  if (!f.sex.empty()) {
    SCV_ASSIGN_OR_RETURN(double sex, scancov::node::ParseSex(f.sex));
    f.request.clinical.Set("sex", sex);
  }
  return scancov::node::AddExtraInputs(f.extra, f.request.clinical);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "scancov-score: score one COVID-19 patient at the bedside from a chest CT (DICOM "
      "folder) and admission values: per-lung lesions, disease extent 0-5, ScanCov and "
      "AI-SCoRE. Research tool, not a medical device."};
  scancov::AddVersionAndExitCodes(
      app, "scancov-score",
      "Also: 3 the CT was analysed but ScanCov not computable (a required input missing or "
      "implausible; the outputs say so); 4 an output file could not be written.");
  Flags f;
  AddFlags(app, f);
  if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;
  const auto start = std::chrono::steady_clock::now();
  if (absl::Status s = CompleteRequest(f); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return scancov::kExitUsage;
  }
  absl::StatusOr<BedsideResult> result = scancov::node::ScorePatient(f.request);
  if (!result.ok()) {
    std::cerr << "error: " << result.status().message() << "\nno score was computed.\n";
    if (!f.json.empty()) {
      (void)scancov::WriteFileAtomic(f.json, scancov::node::BedsideErrorJson(result.status()));
    }
    return scancov::kExitFailed;
  }
  std::cout << scancov::node::BedsideSummaryText(*result) << std::flush;
  const auto before_report = std::chrono::steady_clock::now();
  const bool written =
      scancov::node::WriteBedsideOutputs(*result, {f.report, f.json, f.seg}, std::cerr);
  const auto end = std::chrono::steady_clock::now();
  if (f.timings) {
    std::cout << "timings:";
    for (const auto& [stage, s] : result->timings) std::cout << " " << stage << " " << s << " s;";
    std::cout << " report files " << std::chrono::duration<double>(end - before_report).count()
              << " s; total " << std::chrono::duration<double>(end - start).count() << " s\n";
  }
  if (!written) return kOutputFailed;
  return result->complete() ? scancov::kExitOk : kIncomplete;
}
