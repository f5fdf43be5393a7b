// The logistic_regression spec, checkpoint and site answers; the combined result is in
// logistic_regression_result.cc.
#include "protocol/wire/logistic_regression.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"
#include "models/stats/summary_json.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "logistic_regression";

bool AllFinite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double d) { return std::isfinite(d); });
}

absl::Status BadCheckpoint(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("checkpoint: ", why));
}

// The float64 [n] tensor `name` with finite values, 1 <= n <= max_size (n == exactly when set).
absl::StatusOr<std::vector<double>> Vector(const protocol::TensorSet& set, const char* name,
                                           size_t max_size, size_t exactly) {
  const protocol::Tensor* t = set.Find(name);
  if (t == nullptr) return BadCheckpoint(absl::StrCat("no '", name, "' tensor"));
  const bool size_ok = t->shape.size() == 1 && t->shape[0] >= 1 &&
                       static_cast<size_t>(t->shape[0]) <= max_size &&
                       (exactly == 0 || static_cast<size_t>(t->shape[0]) == exactly);
  if (t->dtype != protocol::DType::kFloat64 || !size_ok) {
    return BadCheckpoint(
        exactly == 0
            ? absl::StrCat("'", name, "' must be float64 [K], 1 <= K <= ", max_size)
            : absl::StrCat("'", name, "' must be float64 [", exactly, "] (the model's terms)"));
  }
  std::vector<double> values = protocol::ToDoubles(*t);
  if (!AllFinite(values)) return BadCheckpoint(absl::StrCat("'", name, "' must be finite"));
  return values;
}

// The checks of a site's summary that do not depend on the round (sizes, finiteness, counts).
absl::Status CheckSummary(const json& j, const stats::LogisticSiteSummary& s) {
  const std::string where = "result_json: summary";
  for (const char* count : {"num_observations", "num_events", "num_perfectly_fitted"}) {
    if (!j.at(count).is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", count, " must be an integer"));
    }
  }
  const size_t p = s.beta.size();
  if (p == 0 || s.gradient.size() != p || s.information.size() != p * p) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": beta, gradient and information need p, p and p x p values"));
  }
  if (!AllFinite(s.beta) || !AllFinite(s.gradient) || !AllFinite(s.information) ||
      !std::isfinite(s.weight_sum) || !(s.log_likelihood <= 0) || s.weight_sum < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": values must be finite, log_likelihood <= 0 and weight_sum >= 0"));
  }
  if (s.num_observations < 0 || s.num_observations > kMaxLogisticSiteRows || s.num_events < 0 ||
      s.num_events > s.num_observations || s.num_perfectly_fitted < 0 ||
      s.num_perfectly_fitted > s.num_observations) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": counts out of range"));
  }
  return absl::OkStatus();
}

absl::Status ParseTercileCounts(const json& j, LogisticSiteAnswer& a) {
  const std::string where = "result_json";
  SCV_ASSIGN_OR_RETURN(a.n_rows, IntField(j, "n_rows", where, -1, 0, kMaxLogisticSiteRows));
  if (a.n_rows < 0) return absl::InvalidArgumentError(where + ": n_rows is required");
  if (!j.contains("tercile_counts") || !j.at("tercile_counts").is_array() ||
      j.at("tercile_counts").size() > kMaxTercileCandidates) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": tercile_counts must be a list of at most ", kMaxTercileCandidates, " counts"));
  }
  int64_t previous = 0;
  for (const json& c : j.at("tercile_counts")) {
    if (!c.is_number_integer() || c.get<int64_t>() < previous || c.get<int64_t>() > a.n_rows) {
      return absl::InvalidArgumentError(
          where + ": tercile_counts must be non-decreasing integers in 0..n_rows");
    }
    previous = c.get<int64_t>();
    a.tercile_counts.push_back(previous);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LogisticSpec> ParseLogisticSpec(const std::string& spec_json) {
  const std::string where = "spec_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(spec_json, where));
  SCV_ASSIGN_OR_RETURN(const std::string analysis, StringField(j, "analysis", where, kKind));
  if (analysis != kKind) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": analysis must be '", kKind, "'"));
  }
  LogisticSpec s;
  SCV_ASSIGN_OR_RETURN(s.outcome, StringField(j, "outcome", where, ""));
  if (s.outcome.empty()) return absl::InvalidArgumentError(where + ": outcome is required");
  SCV_ASSIGN_OR_RETURN(s.features,
                       ParseFeatures(j.contains("features") ? j.at("features") : json(), where));
  SCV_ASSIGN_OR_RETURN(s.l2, NumberField(j, "l2", where, s.l2));
  if (s.l2 < 0) return absl::InvalidArgumentError(where + ": l2 must be >= 0");
  SCV_ASSIGN_OR_RETURN(const int64_t iterations,
                       IntField(j, "max_iterations", where, s.max_iterations, 1, 1000));
  s.max_iterations = static_cast<int>(iterations);
  SCV_ASSIGN_OR_RETURN(s.tolerance, NumberField(j, "tolerance", where, s.tolerance));
  if (!(s.tolerance > 0 && s.tolerance < 1)) {
    return absl::InvalidArgumentError(where + ": tolerance must be in (0, 1)");
  }
  SCV_ASSIGN_OR_RETURN(s.terciles, BoolField(j, "terciles", where, s.terciles));
  SCV_ASSIGN_OR_RETURN(s.split, ParseRowSplit(j, where));
  SCV_ASSIGN_OR_RETURN(const int64_t min_cell, IntField(j, "min_cell_count", where, 0, 0, 1000000));
  s.min_cell_count = static_cast<int>(min_cell);
  return s;
}

std::string ToJson(const LogisticSpec& s) {
  json j = {{"analysis", kKind},
            {"outcome", s.outcome},
            {"features", FeaturesToJson(s.features)},
            {"l2", s.l2},
            {"max_iterations", s.max_iterations},
            {"tolerance", s.tolerance},
            {"terciles", s.terciles},
            {"min_cell_count", s.min_cell_count}};
  AddRowSplit(s.split, j);
  return j.dump();
}

std::vector<std::string> LogisticTerms(const LogisticSpec& spec) {
  std::vector<std::string> terms = {kInterceptTerm};
  for (const FeatureSpec& f : spec.features) terms.push_back(f.name);
  return terms;
}

stats::LogisticOptions LogisticOptionsOf(const LogisticSpec& spec) {
  stats::LogisticOptions options;
  options.l2_penalty = spec.l2;
  options.max_iterations = spec.max_iterations;
  options.tolerance = spec.tolerance;
  return options;
}

protocol::TensorSet ToTensors(const LogisticCheckpoint& c) {
  protocol::TensorSet set;
  (void)set.Add(protocol::FromDoubles(kLogisticBeta, {static_cast<int64_t>(c.beta.size())},
                                      protocol::DType::kFloat64, c.beta));
  if (c.IsTercileRound()) {
    (void)set.Add(protocol::FromDoubles(kTercileCandidates,
                                        {static_cast<int64_t>(c.tercile_candidates.size())},
                                        protocol::DType::kFloat64, c.tercile_candidates));
  }
  return set;
}

absl::StatusOr<LogisticCheckpoint> ParseLogisticCheckpoint(const protocol::TensorSet* checkpoint,
                                                           size_t num_coefficients) {
  LogisticCheckpoint c;
  if (checkpoint == nullptr) return c;
  SCV_ASSIGN_OR_RETURN(c.beta, Vector(*checkpoint, kLogisticBeta, num_coefficients,
                                      std::max<size_t>(num_coefficients, 1)));
  if (checkpoint->Find(kTercileCandidates) != nullptr) {
    SCV_ASSIGN_OR_RETURN(c.tercile_candidates,
                         Vector(*checkpoint, kTercileCandidates, kMaxTercileCandidates, 0));
  }
  if (checkpoint->size() != 1 + (c.IsTercileRound() ? 1 : 0)) {
    return BadCheckpoint("holds other tensors than beta and tercile_candidates");
  }
  return c;
}

std::string ToJson(const LogisticSiteAnswer& a) {
  json j = {{"analysis", kKind}, {"status", a.refused ? "refused" : "ok"}};
  if (a.secure_sum) {
    j["secure_sum"] = true;
    if (!a.split.empty()) j["split"] = a.split;
    if (a.terciles) j["phase"] = "terciles";
    return j.dump();
  }
  if (!a.split.empty()) {
    j["split"] = a.split;
    j["n_complete"] = a.n_complete;
    j["n_incomplete"] = a.n_incomplete;
  }
  if (a.refused) {
    j["reason"] = a.reason;
  } else if (a.terciles) {
    j["phase"] = "terciles";
    j["n_rows"] = a.n_rows;
    j["tercile_counts"] = a.tercile_counts;
  } else {
    j["summary"] = stats::ToJson(a.summary);
  }
  return j.dump();
}

absl::StatusOr<LogisticSiteAnswer> ParseLogisticSiteAnswer(const std::string& text) {
  const std::string where = "result_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  LogisticSiteAnswer a;
  SCV_ASSIGN_OR_RETURN(const std::string status, StringField(j, "status", where, "ok"));
  if (status != "ok" && status != "refused") {
    return absl::InvalidArgumentError(where + ": status must be ok or refused");
  }
  a.refused = status == "refused";
  SCV_ASSIGN_OR_RETURN(a.reason, StringField(j, "reason", where, ""));
  SCV_ASSIGN_OR_RETURN(a.split, StringField(j, "split", where, ""));
  if (!a.split.empty() && a.split != "all" && a.split != "train" && a.split != "holdout") {
    return absl::InvalidArgumentError(where + ": split must be all, train or holdout");
  }
  SCV_ASSIGN_OR_RETURN(a.n_complete, IntField(j, "n_complete", where, 0, 0, kMaxLogisticSiteRows));
  SCV_ASSIGN_OR_RETURN(a.n_incomplete,
                       IntField(j, "n_incomplete", where, 0, 0, kMaxLogisticSiteRows));
  if (a.refused) return a;
  SCV_ASSIGN_OR_RETURN(const std::string phase, StringField(j, "phase", where, ""));
  a.terciles = phase == "terciles" || j.contains("tercile_counts");
  SCV_ASSIGN_OR_RETURN(a.secure_sum, BoolField(j, "secure_sum", where, false));
  if (a.secure_sum) {
    if (j.contains("summary") || j.contains("tercile_counts") || j.contains("n_rows") ||
        j.contains("n_complete") || j.contains("n_incomplete")) {
      return absl::InvalidArgumentError(
          where + ": a secure_sum answer carries its numbers masked, not in clear");
    }
    return a;
  }
  if (a.terciles) {
    SCV_RETURN_IF_ERROR(ParseTercileCounts(j, a));
    return a;
  }
  if (!j.contains("summary") || !j.at("summary").is_object()) {
    return absl::InvalidArgumentError(where + ": no logistic summary");
  }
  SCV_ASSIGN_OR_RETURN(a.summary, stats::LogisticSiteSummaryFromJson(j.at("summary")));
  SCV_RETURN_IF_ERROR(CheckSummary(j.at("summary"), a.summary));
  return a;
}

absl::Status CheckLogisticAnswer(const LogisticSiteAnswer& a, const LogisticCheckpoint& asked,
                                 size_t num_coefficients) {
  if (a.refused) return absl::OkStatus();
  if (a.secure_sum) {
    if (a.terciles != asked.IsTercileRound()) {
      return absl::InvalidArgumentError("result_json: the answer is not of the round's phase");
    }
    return absl::OkStatus();
  }
  if (asked.IsTercileRound()) {
    if (!a.terciles || a.tercile_counts.size() != asked.tercile_candidates.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("result_json: ", a.tercile_counts.size(), " tercile counts for ",
                       asked.tercile_candidates.size(), " candidates"));
    }
    return absl::OkStatus();
  }
  if (a.terciles) {
    return absl::InvalidArgumentError("result_json: tercile counts where a summary was asked");
  }
  if (a.summary.beta.size() != num_coefficients) {
    return absl::InvalidArgumentError(
        absl::StrCat("result_json: summary of ", a.summary.beta.size(),
                     " coefficients, the model has ", num_coefficients));
  }
  const std::vector<double> expected =
      asked.beta.empty() ? std::vector<double>(num_coefficients, 0.0) : asked.beta;
  if (a.summary.beta != expected) {
    return absl::InvalidArgumentError(
        "result_json: summary evaluated at other coefficients than the task's");
  }
  return absl::OkStatus();
}

}  // namespace scancov::wire
