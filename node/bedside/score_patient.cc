#include "node/bedside/score_patient.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "node/bedside/aiscore_model.h"
#include "node/bedside/bedside_ct.h"
#include "node/bedside/bedside_scores.h"
#include "node/imaging/dicom_importer.h"
#include "privacy/pseudonymizer.h"

namespace scancov::node {
namespace {

// Wall time per stage, appended to the result's timings.
class StageTimer {
 public:
  explicit StageTimer(BedsideResult& result) : result_(result) {}
  void Lap(const std::string& stage) {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - start_).count();
    auto it = std::find_if(result_.timings.begin(), result_.timings.end(),
                           [&](const auto& t) { return t.first == stage; });
    if (it == result_.timings.end()) {
      result_.timings.emplace_back(stage, s);
    } else {
      it->second += s;
    }
    start_ = now;
  }

 private:
  BedsideResult& result_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

absl::Status Where(const absl::Status& s, const std::string& where) {
  return absl::Status(s.code(), absl::StrCat(where, ": ", std::string(s.message())));
}

absl::StatusOr<privacy::Pseudonymizer> LoadSecret(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "bedside: no site secret: give the site file (--config) or its secret (--secret), so "
        "the pseudonymous ID matches the node's");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(
        "bedside: site secret ", path,
        ": not found (the node creates it at its first import; a new secret would give IDs "
        "that match nothing)"));
  }
  absl::StatusOr<privacy::Pseudonymizer> p = privacy::Pseudonymizer::FromSecretFile(path);
  if (!p.ok()) return Where(p.status(), "bedside");
  return p;
}

std::string ShortKey(const std::string& key) { return key.substr(0, 12); }

// Every series and file the import did not take, one clause each (at most `max` files).
std::string DescribeRefusals(const ImportReport& report, size_t max_files = 3) {
  std::vector<std::string> parts;
  for (const SeriesReport& s : report.series) {
    if (s.status == SeriesStatus::kImported) continue;
    parts.push_back(absl::StrCat("series ", ShortKey(s.series_key), " (", s.files, " files) ",
                                 SeriesStatusName(s.status), ": ", s.reason));
  }
  for (size_t i = 0; i < report.skipped_files.size() && i < max_files; ++i) {
    parts.push_back(
        absl::StrCat("file ", report.skipped_files[i].file, ": ", report.skipped_files[i].reason));
  }
  if (report.skipped_files.size() > max_files) {
    parts.push_back(absl::StrCat(report.skipped_files.size() - max_files, " more files skipped"));
  }
  return absl::StrJoin(parts, "; ");
}

// Decodable CT series, best first: most slices, then thinnest slices.
absl::StatusOr<std::vector<const SeriesCandidate*>> RankCandidates(const DicomInventory& inv,
                                                                   const std::string& dir) {
  if (inv.candidates.empty()) {
    if (inv.report.series.empty() && inv.report.skipped_files.empty()) {
      return absl::NotFoundError(absl::StrCat("bedside: ", dir, ": the folder has no files"));
    }
    if (inv.report.series.empty()) {
      return absl::NotFoundError(
          absl::StrCat("bedside: ", dir, ": no DICOM file (", DescribeRefusals(inv.report), ")"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "bedside: ", dir, ": no CT series that can be decoded: ", DescribeRefusals(inv.report)));
  }
  std::vector<const SeriesCandidate*> ranked;
  for (const SeriesCandidate& c : inv.candidates) ranked.push_back(&c);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
    if (a->geometry.nz != b->geometry.nz) return a->geometry.nz > b->geometry.nz;
    return a->geometry.spacing[2] < b->geometry.spacing[2];
  });
  return ranked;
}

struct ChosenSeries {
  const SeriesCandidate* candidate = nullptr;
  HuVolume hu;
  LungStage lungs;
  bool superior_at_high_k = true;
};

// Decodes the ranked candidates in turn until one is a chest CT.
absl::StatusOr<ChosenSeries> ChooseChestSeries(const DicomImporter& importer,
                                               const std::vector<const SeriesCandidate*>& ranked,
                                               const BedsideRequest& request, StageTimer& timer,
                                               BedsideResult& result) {
  std::vector<std::string> refusals;
  for (size_t i = 0; i < ranked.size() && i < static_cast<size_t>(kMaxSeriesTried); ++i) {
    const SeriesCandidate& c = *ranked[i];
    const std::string name =
        absl::StrCat("series ", ShortKey(c.series_key), " (", c.geometry.nz, " slices)");
    absl::StatusOr<CtSeries> series = importer.LoadSeries(c);
    timer.Lap("import/decode");
    if (!series.ok()) {
      refusals.push_back(absl::StrCat(name, ": ", std::string(series.status().message())));
      continue;
    }
    ChosenSeries chosen;
    chosen.candidate = &c;
    // Row direction +x: the column index grows to the patient's left (LPS).
    chosen.hu = std::move(series->volume);
    const bool left_at_high_column = chosen.hu.direction[0] >= 0;
    chosen.superior_at_high_k = chosen.hu.direction[8] >= 0;
    absl::StatusOr<LungStage> lungs = SegmentLungs(chosen.hu, request.options, left_at_high_column);
    absl::Status chest = lungs.ok()
                             ? CheckChestLungs(lungs->labels, request.options.min_lung_volume_ml)
                             : lungs.status();
    timer.Lap("lung mask");
    if (!chest.ok()) {
      if (chest.code() != absl::StatusCode::kFailedPrecondition) return Where(chest, "bedside");
      refusals.push_back(absl::StrCat(name, ": ", std::string(chest.message())));
      continue;
    }
    chosen.lungs = std::move(*lungs);
    if (ranked.size() > 1) {
      result.notes.push_back(absl::StrCat(ranked.size(), " CT series found; scored ", name,
                                          ", chosen by slice count and thickness"));
    }
    for (const std::string& r : refusals) result.notes.push_back("not scored: " + r);
    return chosen;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "bedside: ", request.dicom_dir, ": no chest CT: ", absl::StrJoin(refusals, "; ")));
}

// The chosen series' keys, grid, notes and files into `result`.
void DescribeSeries(const ChosenSeries& chosen, BedsideResult& result) {
  const SeriesCandidate& c = *chosen.candidate;
  result.patient_key = c.patient_key;
  result.study_key = c.study_key;
  result.series_key = c.series_key;
  result.nx = chosen.hu.nx;
  result.ny = chosen.hu.ny;
  result.nz = chosen.hu.nz;
  result.spacing = chosen.hu.spacing;
  for (const std::string& n : c.notes) result.notes.push_back("import: " + n);
  for (const std::string& n : chosen.lungs.notes) result.notes.push_back("lung mask: " + n);
  for (const SliceHeader& s : c.slices) result.source_files.push_back(s.path);
  result.lung_method = chosen.lungs.method;
}

}  // namespace

absl::StatusOr<BedsideResult> ScorePatient(const BedsideRequest& request) {
  const BedsideOptions& options = request.options;
  BedsideResult result;
  StageTimer timer(result);
  SCV_ASSIGN_OR_RETURN(privacy::Pseudonymizer pseudonymizer, LoadSecret(options.secret_path));
  std::optional<AiScoreModelFile> aiscore_model;
  if (!options.aiscore_model_path.empty()) {
    absl::StatusOr<AiScoreModelFile> m = LoadAiScoreModel(options.aiscore_model_path);
    if (!m.ok()) return Where(m.status(), "bedside");
    aiscore_model = std::move(*m);
  }
  result.input_problems = ClinicalInputProblems(request.clinical);

  ImportOptions import_options;
  import_options.threads = options.threads;
  const DicomImporter importer(pseudonymizer, import_options);
  absl::StatusOr<DicomInventory> inventory = importer.Scan(request.dicom_dir);
  if (!inventory.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bedside: ", std::string(inventory.status().message())));
  }
  SCV_ASSIGN_OR_RETURN(std::vector<const SeriesCandidate*> ranked,
                       RankCandidates(*inventory, request.dicom_dir));
  SCV_ASSIGN_OR_RETURN(ChosenSeries chosen,
                       ChooseChestSeries(importer, ranked, request, timer, result));
  DescribeSeries(chosen, result);

  absl::StatusOr<LabelVolume> lesions =
      SegmentLesions(chosen.hu, chosen.lungs.labels, options, &result.lesion_method);
  if (!lesions.ok()) return Where(lesions.status(), "bedside: lesions");
  timer.Lap("lesions");
  SCV_RETURN_IF_ERROR(QuantifyCt(chosen.hu, chosen.lungs.labels, *lesions, options, result));
  timer.Lap("quantification");
  ComputeBedsideScores(request.clinical, aiscore_model ? &*aiscore_model : nullptr, result);
  timer.Lap("scores");
  SCV_RETURN_IF_ERROR(RenderReportImages(chosen.hu, chosen.lungs.labels, *lesions,
                                         options.overlay_slices, chosen.superior_at_high_k,
                                         result));
  timer.Lap("report images");
  result.lungs = std::move(chosen.lungs.labels);
  result.lesion_labels = std::move(*lesions);
  return result;
}

}  // namespace scancov::node
