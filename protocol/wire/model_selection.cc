// The model_selection spec; the combined result is in model_selection_result.cc.
#include "protocol/wire/model_selection.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using nlohmann::json;
using scores::PipelineOptions;

constexpr char kKind[] = "model_selection";

constexpr size_t kMaxPenalties = 16;
// gRPC's default message limit is 4 MB; a site's answer travels in one UploadHeader.
constexpr double kMaxAnswerBytes = 3e6;
// A study may ask sites for a stricter minimum cell count than their own, up to this.
constexpr int64_t kMaxMinCellCount = 1000000;

// The largest batch of fits of `spec` by `per_model(p)`, the cost of a model with p
// coefficients. Greedy step k (k variables selected) fits (variables - k) candidates with
// p = k + 2, each on every penalty and fold.
double LargestBatch(const SelectionSpec& spec, double (*per_model)(double p)) {
  const double per_candidate =
      static_cast<double>(spec.options.penalty_grid.size() * spec.options.num_folds);
  const int v = static_cast<int>(spec.variables.size());
  const int initial = static_cast<int>(spec.options.initial_variables.size());
  double initial_batch = 0.0, largest = 0.0;
  for (int i = 1; i <= initial; ++i) initial_batch += per_candidate * per_model(i + 1);
  for (int k = initial; k < std::min(v, std::max(initial, spec.options.max_variables)); ++k) {
    largest = std::max(largest, (v - k) * per_candidate * per_model(k + 2));
  }
  return std::max(initial_batch, largest);
}

// About the size of a site's answer to the largest batch of fits: a model with p coefficients
// sends p + p + p * p doubles of ~20 characters plus ~200 characters of counts.
double LargestAnswerBytes(const SelectionSpec& spec) {
  return LargestBatch(spec, [](double p) { return 20.0 * (p * p + 2.0 * p) + 200.0; });
}

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("model selection: spec_json: ", what));
}

absl::StatusOr<std::vector<std::string>> Names(const json& j, const char* field) {
  std::vector<std::string> names;
  if (!j.contains(field)) return names;
  if (!j.at(field).is_array()) return Bad(absl::StrCat("'", field, "' must be a list"));
  for (const json& v : j.at(field)) {
    if (!v.is_string()) return Bad(absl::StrCat("'", field, "' must hold names"));
    names.push_back(v.get<std::string>());
  }
  return names;
}

// An integer field in [lo, hi], or InvalidArgument naming it. A float (1e300) is refused rather
// than cast (a cast out of range is undefined).
template <typename T>
absl::Status ReadInt(const json& j, const char* field, int64_t lo, int64_t hi, T& out) {
  if (!j.contains(field)) return absl::OkStatus();
  const json& v = j.at(field);
  bool integer = false;
  int64_t value = 0;
  if (v.is_number_unsigned()) {  // hi >= 0: a value above it is refused before any cast
    integer = v.get<uint64_t>() <= static_cast<uint64_t>(hi);
    if (integer) value = static_cast<int64_t>(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    integer = true;
    value = v.get<int64_t>();
  }
  if (!integer || value < lo || value > hi) {
    return Bad(absl::StrCat("'", field, "' must be an integer in [", lo, ", ", hi, "]"));
  }
  out = static_cast<T>(value);
  return absl::OkStatus();
}

absl::Status ParseOptions(const json& j, PipelineOptions& o) {
  if (j.contains("penalty_grid")) {
    if (!j.at("penalty_grid").is_array()) return Bad("'penalty_grid' must be a list");
    o.penalty_grid.clear();
    for (const json& v : j.at("penalty_grid")) {
      if (!v.is_number()) return Bad("'penalty_grid' must hold numbers");
      o.penalty_grid.push_back(v.get<double>());
    }
  }
  SCV_RETURN_IF_ERROR(ReadInt(j, "folds", 2, 10, o.num_folds));
  SCV_RETURN_IF_ERROR(ReadInt(j, "age_bins", 1, 10, o.num_age_bins));
  if (j.contains("seed")) {  // any 64-bit pattern
    if (!j.at("seed").is_number_integer()) return Bad("'seed' must be an integer");
    o.seed = j.at("seed").is_number_unsigned() ? j.at("seed").get<uint64_t>()
                                               : static_cast<uint64_t>(j.at("seed").get<int64_t>());
  }
  if (j.contains("age_variable")) {
    if (!j.at("age_variable").is_string()) return Bad("'age_variable' must be a name");
    o.age_variable = j.at("age_variable").get<std::string>();
  }
  SCV_RETURN_IF_ERROR(ReadInt(j, "max_variables", 1, 20, o.max_variables));
  SCV_RETURN_IF_ERROR(ReadInt(j, "min_observed", 1, int64_t{1} << 40, o.min_observed));
  if (j.contains("min_auc_gain")) {
    const json& v = j.at("min_auc_gain");
    if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() <= 1.0)) {
      return Bad("'min_auc_gain' must be a number in [0, 1]");
    }
    o.min_auc_gain = v.get<double>();
  }
  SCV_ASSIGN_OR_RETURN(o.initial_variables, Names(j, "initial_variables"));
  if (o.penalty_grid.empty() || o.penalty_grid.size() > kMaxPenalties) {
    return Bad(absl::StrCat("'penalty_grid' needs 1..", kMaxPenalties, " values"));
  }
  for (double p : o.penalty_grid) {
    if (!(p > 0.0) || !std::isfinite(p)) return Bad("penalties must be > 0");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SelectionSpec> ParseSelectionSpec(const std::string& spec_json) {
  const json j = json::parse(spec_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  if (j.contains("analysis") && j.at("analysis") != kKind) {
    return Bad(absl::StrCat("'analysis' must be \"", kKind, "\""));
  }
  SelectionSpec spec;
  if (!j.contains("outcome") || !j.at("outcome").is_string() ||
      j.at("outcome").get<std::string>().empty()) {
    return Bad("'outcome' is required (a name)");
  }
  spec.outcome = j.at("outcome").get<std::string>();
  SCV_ASSIGN_OR_RETURN(spec.variables, Names(j, "variables"));
  if (spec.variables.empty() || spec.variables.size() > kMaxSelectionVariables) {
    return Bad(absl::StrCat("'variables' needs 1..", kMaxSelectionVariables, " names"));
  }
  std::vector<std::string> sorted = spec.variables;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return Bad("'variables' has a duplicate");
  }
  try {
    SCV_RETURN_IF_ERROR(ParseOptions(j, spec.options));
    SCV_RETURN_IF_ERROR(ReadInt(j, "min_cell_count", 0, kMaxMinCellCount, spec.min_cell_count));
  } catch (const std::exception& e) {
    return Bad(e.what());
  }
  for (const std::string& v : spec.options.initial_variables) {
    if (std::find(spec.variables.begin(), spec.variables.end(), v) == spec.variables.end()) {
      return Bad(absl::StrCat("initial variable ", v, " is not in 'variables'"));
    }
  }
  const size_t batch =
      spec.variables.size() * spec.options.penalty_grid.size() * spec.options.num_folds;
  if (batch > kMaxSelectionModelsPerBatch) {
    return Bad(absl::StrCat("variables x penalties x folds = ", batch,
                            " models per batch (at most ", kMaxSelectionModelsPerBatch, ")"));
  }
  const double bytes = LargestAnswerBytes(spec);
  if (bytes > kMaxAnswerBytes) {
    return Bad(absl::StrCat("a site's largest answer would be about ",
                            static_cast<int64_t>(bytes / 1e6),
                            " MB (at most 3); fewer variables, penalties, folds or max_variables"));
  }
  return spec;
}

uint64_t LargestSelectionSumLength(const SelectionSpec& spec) {
  // A fit's gradient, information and 7 counts (model_selection_answer.h), or a sums round's.
  const double fits = LargestBatch(spec, [](double p) { return p + p * p + 7.0; });
  const SelectionShape shape = ShapeOf(spec);
  const double moments = static_cast<double>(shape.parts) * (1.0 + 2.0 * shape.width);
  return static_cast<uint64_t>(std::max(fits, moments));
}

std::string ToJson(const SelectionSpec& s) {
  const PipelineOptions& o = s.options;
  return json{{"analysis", kKind},
              {"outcome", s.outcome},
              {"variables", s.variables},
              {"initial_variables", o.initial_variables},
              {"penalty_grid", o.penalty_grid},
              {"folds", o.num_folds},
              {"age_bins", o.num_age_bins},
              {"seed", o.seed},
              {"age_variable", o.age_variable},
              {"max_variables", o.max_variables},
              {"min_auc_gain", o.min_auc_gain},
              {"min_observed", o.min_observed},
              {"min_cell_count", s.min_cell_count}}
      .dump();
}

}  // namespace scancov::wire
