// The model_selection answers under secure aggregation (model_selection_answer.h): an ok
// answer's aggregates as one vector at the site, and the pooled answer from their sum at the
// aggregator.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "protocol/wire/model_selection_answer.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::wire {
namespace {

using scores::ModelRequest;
using scores::ModelSiteResult;
using scores::PartMoments;
using scores::SelectionRequest;

// The counts after a model's matrices: log_likelihood .. num_perfectly_fitted, auc x pairs,
// pairs.
constexpr uint64_t kModelTail = 7;

absl::Status BadSum(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("secure sum: ", why));
}

uint64_t ModelLength(const ModelRequest& m) {
  const uint64_t p = m.beta.size();
  return p + p * p + kModelTail;
}

// Reads `n` values from `sum` at `at`.
std::vector<double> Take(const std::vector<double>& sum, size_t& at, size_t n) {
  std::vector<double> out(sum.begin() + static_cast<std::ptrdiff_t>(at),
                          sum.begin() + static_cast<std::ptrdiff_t>(at + n));
  at += n;
  return out;
}

absl::StatusOr<std::vector<PartMoments>> MomentsFromSum(const std::vector<double>& sum,
                                                        const SelectionShape& shape) {
  std::vector<PartMoments> moments(static_cast<size_t>(shape.parts));
  size_t at = 0;
  for (PartMoments& m : moments) {
    SCV_ASSIGN_OR_RETURN(m.rows, CountFromSum(sum[at++], "a part's rows"));
    for (int j = 0; j < shape.width; ++j) {
      SCV_ASSIGN_OR_RETURN(const int64_t observed, CountFromSum(sum[at++], "an observed count"));
      m.observed.push_back(observed);
    }
    m.sums = Take(sum, at, static_cast<size_t>(shape.width));
  }
  return moments;
}

absl::StatusOr<ModelSiteResult> ModelFromSum(const std::vector<double>& sum, size_t& at,
                                             const ModelRequest& asked) {
  ModelSiteResult r;
  stats::LogisticSiteSummary& s = r.summary;
  const size_t p = asked.beta.size();
  s.beta = asked.beta;
  s.gradient = Take(sum, at, p);
  s.information = Take(sum, at, p * p);
  for (size_t j = 0; j < p; ++j) {
    // X'WX's diagonal is a sum of squares with non-negative weights at every site.
    if (!(s.information[j * p + j] >= 0.0)) return BadSum("a negative information");
  }
  s.log_likelihood = sum[at++];
  s.weight_sum = sum[at++];
  SCV_ASSIGN_OR_RETURN(s.num_observations, CountFromSum(sum[at++], "num_observations"));
  SCV_ASSIGN_OR_RETURN(s.num_events, CountFromSum(sum[at++], "num_events"));
  SCV_ASSIGN_OR_RETURN(s.num_perfectly_fitted, CountFromSum(sum[at++], "num_perfectly_fitted"));
  const double auc_pairs = sum[at++];
  SCV_ASSIGN_OR_RETURN(const int64_t pairs, CountFromSum(sum[at++], "pairs"));
  r.pairs = static_cast<double>(pairs);
  // Each site's AUC x pairs is in [0, pairs], rounded to the fixed point: the sum may pass its
  // bounds by the rounding, never by more than a thousandth of a pair.
  if (!std::isfinite(auc_pairs) || auc_pairs < -1e-3 || auc_pairs > r.pairs + 1e-3) {
    return BadSum("an AUC x pairs outside [0, pairs]");
  }
  r.auc = pairs > 0 ? std::clamp(auc_pairs / r.pairs, 0.0, 1.0) : 0.5;
  return r;
}

}  // namespace

uint64_t SelectionSumLength(const SelectionRequest& request, const SelectionShape& shape) {
  if (request.kind != SelectionRequest::Kind::kFits) {
    return static_cast<uint64_t>(shape.parts) * (1 + 2 * static_cast<uint64_t>(shape.width));
  }
  uint64_t n = 0;
  for (const ModelRequest& m : request.models) n += ModelLength(m);
  return n;
}

absl::StatusOr<std::vector<double>> SelectionSumVector(const SelectionAggregates& answer,
                                                       const SelectionRequest& request,
                                                       const SelectionShape& shape) {
  SCV_RETURN_IF_ERROR(CheckAnswer(answer, request, shape));
  std::vector<double> v;
  v.reserve(SelectionSumLength(request, shape));
  if (request.kind != SelectionRequest::Kind::kFits) {
    for (const PartMoments& m : answer.moments) {
      v.push_back(static_cast<double>(m.rows));
      for (int64_t o : m.observed) v.push_back(static_cast<double>(o));
      v.insert(v.end(), m.sums.begin(), m.sums.end());
    }
    return v;
  }
  for (const ModelSiteResult& r : answer.models) {
    const stats::LogisticSiteSummary& s = r.summary;
    v.insert(v.end(), s.gradient.begin(), s.gradient.end());
    v.insert(v.end(), s.information.begin(), s.information.end());
    for (double x : {s.log_likelihood, s.weight_sum, static_cast<double>(s.num_observations),
                     static_cast<double>(s.num_events), static_cast<double>(s.num_perfectly_fitted),
                     r.auc * r.pairs, r.pairs}) {
      v.push_back(x);
    }
  }
  return v;
}

SelectionSiteAnswer ClearPart(const SelectionSiteAnswer& answer) {
  SelectionSiteAnswer clear;
  clear.secure_sum = true;
  clear.aggregates.kind = answer.aggregates.kind;
  clear.suppressed = answer.suppressed;
  return clear;
}

absl::Status CheckClearPart(const SelectionSiteAnswer& answer, const SelectionRequest& request) {
  if (answer.refused) return absl::OkStatus();
  if (!answer.secure_sum) {
    return absl::InvalidArgumentError(
        "model selection: result_json: the answer's numbers are in clear, not masked");
  }
  if (answer.aggregates.kind != request.kind) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model selection: result_json: 'kind' must be \"", KindName(request.kind), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<SelectionAggregates> SelectionAggregatesFromSum(const std::vector<double>& sum,
                                                               const SelectionRequest& request,
                                                               const SelectionShape& shape) {
  const uint64_t length = SelectionSumLength(request, shape);
  if (sum.size() != length) {
    return BadSum(absl::StrCat(sum.size(), " values, the round's answers have ", length));
  }
  SelectionAggregates pooled;
  pooled.kind = request.kind;
  if (request.kind != SelectionRequest::Kind::kFits) {
    SCV_ASSIGN_OR_RETURN(pooled.moments, MomentsFromSum(sum, shape));
  } else {
    size_t at = 0;
    for (const ModelRequest& m : request.models) {
      SCV_ASSIGN_OR_RETURN(ModelSiteResult r, ModelFromSum(sum, at, m));
      pooled.models.push_back(std::move(r));
    }
  }
  absl::Status fits = CheckAnswer(pooled, request, shape);
  if (!fits.ok()) {
    return BadSum(
        absl::StrCat("no sites answering the round could have sent it: ", fits.message()));
  }
  return pooled;
}

}  // namespace scancov::wire
