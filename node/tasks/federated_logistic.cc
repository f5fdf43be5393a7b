#include "node/tasks/federated_logistic.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/federated_quantile.h"
#include "models/stats/logistic_site.h"
#include "models/stats/summary_json.h"

namespace scancov::node {
namespace {

// The most thresholds a site answers in one terciles round (the study asks at most 4 x 33).
constexpr size_t kMaxTercileCandidates = 256;

bool AllFinite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double d) { return std::isfinite(d); });
}

// A terciles round (aggregator/tercile_rounds.h): how many of the fit's rows have a linear
// predictor x'beta <= each candidate. Only these counts and the row count leave the site, and
// only for a round the study's budget admits (node/tercile_budget.h).
absl::Status CountTercileRows(const v1::Task& task, const protocol::Tensor& candidates,
                              const Eigen::MatrixXd& x, const std::vector<double>& beta,
                              TercileBudget& terciles, nlohmann::json& result) {
  const std::vector<double> thresholds = protocol::ToDoubles(candidates);
  if (thresholds.size() > kMaxTercileCandidates) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint: ", thresholds.size(),
                                                   " tercile candidates, at most ",
                                                   kMaxTercileCandidates, " are answered"));
  }
  if (!AllFinite(thresholds) || !AllFinite(beta)) {
    return absl::InvalidArgumentError("checkpoint: tercile candidates and beta must be finite");
  }
  const Eigen::Map<const Eigen::VectorXd> b(beta.data(), static_cast<Eigen::Index>(beta.size()));
  const Eigen::VectorXd eta = (x * b.tail(b.size() - 1)).array() + b[0];
  if (!eta.allFinite()) {  // a finite but huge beta; NaN would also break the counting's sort
    return absl::InvalidArgumentError("checkpoint: beta gives non-finite linear predictors");
  }
  SCV_RETURN_IF_ERROR(terciles.Admit(task.study_id(), task.round(), beta, thresholds));
  result["phase"] = "terciles";
  result["n_rows"] = eta.size();
  result["tercile_counts"] =
      stats::CountAtOrBelow(absl::MakeConstSpan(eta.data(), eta.size()), thresholds);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TaskOutcome> RunLogisticRegression(
    const v1::Task& task, const protocol::TensorSet* beta, DatasetSource& data,
    const privacy::ReleasePolicy& policy, const std::string& site_id, TercileBudget& terciles) {
  SCV_ASSIGN_OR_RETURN(TabularTaskSpec spec, ParseTabularTaskSpec(task.spec_json()));
  std::vector<std::string> names;
  for (const FeatureSpec& f : spec.features) {
    if (!privacy::IsVariableAllowed(policy, f.name)) {  // the site takes no part
      TaskOutcome out;
      out.result_json =
          nlohmann::json{
              {"analysis", "logistic_regression"},
              {"status", "refused"},
              {"reason", absl::StrCat("variable ", f.name, " is not released by this site")}}
              .dump();
      return out;
    }
    names.push_back(f.name);
  }
  SCV_ASSIGN_OR_RETURN(TabularRows rows, data.Load(names, spec.outcome));
  const size_t n = rows.keys.size(), c = names.size();
  const nlohmann::json spec_json = nlohmann::json::parse(task.spec_json(), nullptr, false);
  // Optional split, the same as model_evaluation's: "train" keeps the rows outside the
  // held-out part, "holdout" the held-out part, "all" (default) every row. Per site or global.
  std::string split = "all";
  if (spec_json.contains("split")) {
    const nlohmann::json& s = spec_json.at("split");
    split = s.is_object()   ? s.value(site_id, std::string("all"))
            : s.is_string() ? s.get<std::string>()
                            : "all";
  }
  const double holdout = spec_json.value("holdout_fraction", 0.19);
  const uint64_t seed = spec_json.value("split_seed", uint64_t{0});
  std::vector<std::vector<double>> complete;
  std::vector<double> y;
  for (size_t i = 0; i < n; ++i) {
    const bool held_out = InHoldout(rows.keys[i], seed, holdout);
    if ((split == "train" && held_out) || (split == "holdout" && !held_out)) continue;
    std::vector<double> row(c);
    bool ok = true;
    for (size_t j = 0; j < c && ok; ++j) {
      row[j] = TransformFeature(spec.features[j], rows.x[i * c + j]);
      ok = std::isfinite(row[j]);
    }
    if (!ok) continue;
    complete.push_back(std::move(row));
    y.push_back(rows.y[i]);
  }
  int64_t events = 0;
  for (double v : y) events += v == 1.0;
  const int64_t non_events = static_cast<int64_t>(y.size()) - events;
  const int min_cell = privacy::EffectiveMinCellCount(policy, spec_json.value("min_cell_count", 0));
  TaskOutcome out;
  nlohmann::json result = {{"analysis", "logistic_regression"},
                           {"split", split},
                           {"n_complete", complete.size()},
                           {"n_incomplete", n - complete.size()}};
  if (events < min_cell || non_events < min_cell) {
    result["status"] = "refused";
    result["reason"] = absl::StrCat("fewer than ", min_cell, " events or non-events");
    out.result_json = result.dump();
    return out;
  }
  Eigen::MatrixXd x(complete.size(), c);
  Eigen::VectorXd yy(complete.size());
  for (size_t i = 0; i < complete.size(); ++i) {
    for (size_t j = 0; j < c; ++j) x(i, j) = complete[i][j];
    yy[i] = y[i];
  }
  SCV_ASSIGN_OR_RETURN(stats::LogisticSiteData site,
                       stats::LogisticSiteData::Create(x, yy, stats::LogisticOptions{}));
  std::vector<double> b(site.num_coefficients(), 0.0);
  if (beta != nullptr) {
    const protocol::Tensor* t = beta->Find("beta");
    if (t == nullptr) return absl::InvalidArgumentError("checkpoint: no 'beta' tensor");
    b = protocol::ToDoubles(*t);
    if (static_cast<int>(b.size()) != site.num_coefficients()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint: beta has ", b.size(), " values, the model ", site.num_coefficients()));
    }
  }
  result["status"] = "ok";
  const protocol::Tensor* candidates = beta ? beta->Find("tercile_candidates") : nullptr;
  if (candidates != nullptr) {
    SCV_RETURN_IF_ERROR(CountTercileRows(task, *candidates, x, b, terciles, result));
    out.num_samples = complete.size();
    out.result_json = result.dump();
    return out;
  }
  SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary summary, site.Evaluate(b));
  result["summary"] = stats::ToJson(summary);
  out.num_samples = complete.size();
  out.result_json = result.dump();
  return out;
}

}  // namespace scancov::node
