#include "node/bedside/bedside_scores.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/scores/call_score.h"
#include "models/scores/curb65.h"

namespace scancov::node {
namespace {

const char* Curb65GroupName(scores::Curb65Group g) {
  switch (g) {
    case scores::Curb65Group::kLow:
      return "low";
    case scores::Curb65Group::kIntermediate:
      return "intermediate";
    case scores::Curb65Group::kHigh:
      return "high";
  }
  return "?";
}

const char* CallClassName(scores::CallClass c) {
  switch (c) {
    case scores::CallClass::kA:
      return "A (low)";
    case scores::CallClass::kB:
      return "B (intermediate)";
    case scores::CallClass::kC:
      return "C (high)";
  }
  return "?";
}

// The group of a points score; a range of groups when missing criteria leave it open.
template <typename GroupOf, typename Name>
std::string GroupText(const scores::PointsScore& s, GroupOf group_of, Name name) {
  const std::string lo = name(group_of(s.points));
  const std::string hi = name(group_of(s.max_points));
  return lo == hi ? lo : absl::StrCat(lo, " to ", hi);
}

PointsOutcome FromPoints(const absl::StatusOr<scores::PointsScore>& s, std::string group) {
  PointsOutcome out;
  if (!s.ok()) {
    out.reason = std::string(s.status().message());
    return out;
  }
  out.available = true;
  out.value = *s;
  out.group = std::move(group);
  return out;
}

}  // namespace

std::vector<std::string> ClinicalInputProblems(const scores::PatientInputs& clinical) {
  std::vector<std::string> problems;
  for (const auto& [name, value] : clinical.values()) {
    const scores::InputSpec* spec = scores::FindInputSpec(name);
    if (spec == nullptr) {
      problems.push_back(absl::StrCat("clinical input: ", name, ": unknown input"));
      continue;
    }
    const absl::Status s = scores::CheckInputValue(*spec, value, "clinical input");
    if (!s.ok()) problems.push_back(std::string(s.message()));
  }
  return problems;
}

void ComputeBedsideScores(const scores::PatientInputs& clinical,
                          const AiScoreModelFile* aiscore_model, BedsideResult& result) {
  result.inputs = clinical;
  result.inputs.Set("disease_extent", result.disease_extent);
  result.inputs.Set("well_aerated_lung_percent", result.hu_intervals.both.well_aerated_percent);
  if (result.calcium_available) {
    result.inputs.Set("calcium_volume_mm3", result.calcium_volume_mm3);
  }

  const absl::StatusOr<scores::ScanCovResult> scancov =
      scores::ScanCovScore().Compute(result.inputs);
  if (scancov.ok()) {
    result.scancov.available = true;
    result.scancov.value = *scancov;
  } else {
    result.scancov.reason = std::string(scancov.status().message());
  }

  if (aiscore_model == nullptr) {
    result.aiscore.reason = kAiScoreNoModel;
  } else {
    result.aiscore.cut_points = aiscore_model->cut_points;
    result.aiscore.model_source = aiscore_model->source;
    const absl::StatusOr<scores::AiScoreResult> ai =
        EvaluateAiScoreModel(*aiscore_model, result.inputs);
    if (ai.ok()) {
      result.aiscore.available = true;
      result.aiscore.value = *ai;
    } else {
      result.aiscore.reason = std::string(ai.status().message());
    }
  }

  const absl::StatusOr<scores::PointsScore> curb = scores::Curb65(result.inputs);
  result.curb65 =
      FromPoints(curb, curb.ok() ? GroupText(*curb, scores::Curb65GroupOf, Curb65GroupName) : "");
  const absl::StatusOr<scores::PointsScore> call = scores::CallScore(result.inputs);
  result.call =
      FromPoints(call, call.ok() ? GroupText(*call, scores::CallClassOf, CallClassName) : "");
}

}  // namespace scancov::node
