// The terminal summary, the JSON result and the DICOM SEG (bedside_report.h).
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "models/ct/dicom_seg.h"
#include "node/bedside/bedside_report.h"

namespace scancov::node {
namespace {

using nlohmann::json;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string ScanCovLine(const BedsideResult& r) {
  if (!r.scancov.available) return "ScanCov:  NOT COMPUTED - " + r.scancov.reason;
  const scores::ScanCovResult& s = r.scancov.value;
  return absl::StrFormat(
      "ScanCov:  probability %.3f -> %s risk (terciles 0.144 / 0.369), level %d/5 (%s)\n"
      "          linear predictor %.3f; disease extent %d/5 from the CT",
      s.probability, Upper(scores::RiskClassName(s.risk_class)), s.level,
      scores::FiveLevelName(s.level), s.linear_predictor, r.disease_extent);
}

std::string AiScoreLine(const BedsideResult& r) {
  if (!r.aiscore.available) return "AI-SCoRE: " + r.aiscore.reason;
  return absl::StrFormat("AI-SCoRE: %.1f / 100 -> %s (cut points %g / %g; in-hospital death)",
                         r.aiscore.value.score,
                         Upper(scores::AiScoreClassName(r.aiscore.value.score_class)),
                         r.aiscore.cut_points.low_medium, r.aiscore.cut_points.medium_high);
}

std::string PointsLine(const char* name, const PointsOutcome& p) {
  if (!p.available) return absl::StrCat(name, ": not available - ", p.reason);
  std::string line = absl::StrCat(name, ": ", p.value.points);
  if (p.value.partial()) {
    absl::StrAppend(&line, " to ", p.value.max_points,
                    " (partial, missing: ", absl::StrJoin(p.value.missing, ", "), ")");
  }
  absl::StrAppend(&line, ", group ", p.group);
  return line;
}

json LungJson(const ct::LungLesionStats& s) {
  return {{"volume_ml", s.volume_ml},
          {"ggo_percent", s.ggo_percent},
          {"crazy_paving_percent", s.crazy_paving_percent},
          {"consolidation_percent", s.consolidation_percent},
          {"extent_percent", s.extent_percent},
          {"extent_score", s.extent_score},
          {"ggo_of_extent", s.ggo_of_extent},
          {"crazy_paving_of_extent", s.crazy_paving_of_extent},
          {"consolidation_of_extent", s.consolidation_of_extent}};
}

json HuJson(const ct::HuIntervalStats& s) {
  return {{"lung_volume_ml", s.lung_volume_ml},
          {"low_attenuation_percent", s.low_attenuation_percent},
          {"well_aerated_percent", s.well_aerated_percent},
          {"ggo_percent", s.ggo_percent},
          {"semi_consolidation_percent", s.semi_consolidation_percent},
          {"consolidation_percent", s.consolidation_percent}};
}

json ScoresJson(const BedsideResult& r) {
  json scancov = {{"available", r.scancov.available}};
  if (r.scancov.available) {
    const scores::ScanCovResult& s = r.scancov.value;
    scancov.update({{"linear_predictor", s.linear_predictor},
                    {"probability", s.probability},
                    {"class", scores::RiskClassName(s.risk_class)},
                    {"level", s.level},
                    {"level_name", scores::FiveLevelName(s.level)},
                    {"disease_extent_from_ct", r.disease_extent}});
  } else {
    scancov["reason"] = r.scancov.reason;
  }
  json ai = {{"available", r.aiscore.available}};
  if (r.aiscore.available) {
    ai.update({{"score", r.aiscore.value.score},
               {"probability", r.aiscore.value.probability},
               {"class", scores::AiScoreClassName(r.aiscore.value.score_class)},
               {"cut_points", {r.aiscore.cut_points.low_medium, r.aiscore.cut_points.medium_high}},
               {"model_source", r.aiscore.model_source}});
  } else {
    ai["reason"] = r.aiscore.reason;
  }
  json out = {{"scancov", scancov}, {"aiscore", ai}};
  for (const auto& [name, p] :
       {std::pair<const char*, const PointsOutcome*>{"curb65", &r.curb65}, {"call", &r.call}}) {
    json j = {{"available", p->available}};
    if (p->available) {
      j.update({{"points", p->value.points},
                {"max_points", p->value.max_points},
                {"missing", p->value.missing},
                {"group", p->group}});
    } else {
      j["reason"] = p->reason;
    }
    out[name] = j;
  }
  return out;
}

}  // namespace

std::string BedsideSummaryText(const BedsideResult& r) {
  std::string out = "ScanCov bedside scoring\n";
  if (!r.complete()) {
    absl::StrAppend(&out, "*** INCOMPLETE: no valid ScanCov score. ", r.scancov.reason, " ***\n");
  }
  for (const std::string& p : r.input_problems) absl::StrAppend(&out, "input problem: ", p, "\n");
  absl::StrAppendFormat(&out, "patient (pseudonymous ID): %s\n", r.patient_key);
  absl::StrAppendFormat(&out, "series %s: %d x %d x %d, %.2f x %.2f x %.2f mm\n",
                        r.series_key.substr(0, 12), r.nx, r.ny, r.nz, r.spacing[0], r.spacing[1],
                        r.spacing[2]);
  absl::StrAppend(&out, "lungs: ", r.lung_method, "\nlesions: ", r.lesion_method, "\n\n");
  absl::StrAppendFormat(&out, "%-6s %10s %7s %9s %9s %8s %6s\n", "lung", "volume mL", "GGO %",
                        "crazy p.%", "consol.%", "extent%", "0-5");
  const std::pair<const char*, const ct::LungLesionStats*> rows[3] = {
      {"right", &r.lesions.right}, {"left", &r.lesions.left}, {"both", &r.lesions.both}};
  for (const auto& [name, s] : rows) {
    absl::StrAppendFormat(&out, "%-6s %10.0f %7.1f %9.1f %9.1f %8.1f %6d\n", name, s->volume_ml,
                          s->ggo_percent, s->crazy_paving_percent, s->consolidation_percent,
                          s->extent_percent, s->extent_score);
  }
  absl::StrAppendFormat(&out, "\nwell-aerated lung: %.1f %%   cardiovascular calcium: %s\n",
                        r.hu_intervals.both.well_aerated_percent,
                        r.calcium_available ? absl::StrFormat("%.0f mm3", r.calcium_volume_mm3)
                                            : std::string("not measured"));
  absl::StrAppend(&out, "disease extent (CT, 0-5): ", r.disease_extent, "\n\n");
  absl::StrAppend(&out, ScanCovLine(r), "\n", AiScoreLine(r), "\n", PointsLine("CURB-65", r.curb65),
                  "\n", PointsLine("CALL", r.call), "\n");
  for (const std::string& n : r.notes) absl::StrAppend(&out, "note: ", n, "\n");
  absl::StrAppend(&out, "\n", kResearchDisclaimer, "\n");
  return out;
}

std::string BedsideResultJson(const BedsideResult& r) {
  json inputs = json::object();
  for (const auto& [name, value] : r.inputs.values()) inputs[name] = value;
  json timings = json::object();
  for (const auto& [stage, seconds] : r.timings) timings[stage] = seconds;
  json j = {
      {"format", "scancov-bedside-v1"},
      {"complete", r.complete()},
      {"patient_key", r.patient_key},
      {"study_key", r.study_key},
      {"series_key", r.series_key},
      {"series", {{"nx", r.nx}, {"ny", r.ny}, {"nz", r.nz}, {"spacing_mm", r.spacing}}},
      {"methods", {{"lungs", r.lung_method}, {"lesions", r.lesion_method}}},
      {"lungs",
       {{"right", LungJson(r.lesions.right)},
        {"left", LungJson(r.lesions.left)},
        {"both", LungJson(r.lesions.both)}}},
      {"hu_intervals",
       {{"right", HuJson(r.hu_intervals.right)},
        {"left", HuJson(r.hu_intervals.left)},
        {"both", HuJson(r.hu_intervals.both)}}},
      {"calcium_volume_mm3", r.calcium_available ? json(r.calcium_volume_mm3) : json(nullptr)},
      {"disease_extent", r.disease_extent},
      {"scores", ScoresJson(r)},
      {"inputs", inputs},
      {"input_problems", r.input_problems},
      {"notes", r.notes},
      {"timings_s", timings},
      {"disclaimer", kResearchDisclaimer}};
  return j.dump(2) + "\n";
}

std::string BedsideErrorJson(const absl::Status& status) {
  const json j = {{"format", "scancov-bedside-v1"},
                  {"complete", false},
                  {"error", std::string(status.message())},
                  {"code", absl::StatusCodeToString(status.code())},
                  {"disclaimer", kResearchDisclaimer}};
  return j.dump(2) + "\n";
}

absl::Status WriteBedsideSeg(const std::string& path, const BedsideResult& r) {
  absl::StatusOr<ct::SegSource> source = ct::ReadSegSource(r.source_files);
  if (!source.ok()) return source.status();
  ct::SegWriteOptions options;
  options.algorithm_name = r.lesion_method.rfind("learned", 0) == 0
                               ? "scancov bedside: learned lesion models"
                               : "scancov bedside: HU intervals (model-free)";
  return ct::WriteDicomSeg(path, *source, r.lungs, r.lesion_labels, options);
}

}  // namespace scancov::node
