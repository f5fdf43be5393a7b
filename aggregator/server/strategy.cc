#include "aggregator/server/strategy.h"

#include <algorithm>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

using protocol::Tensor;
using protocol::TensorSet;

absl::Status CheckUpdates(const TensorSet& global, const std::vector<ClientUpdate>& updates) {
  if (updates.empty()) return absl::FailedPreconditionError("aggregate: no client updates");
  for (const ClientUpdate& u : updates) {
    if (u.weights == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("aggregate: site '", u.site_id, "' has no weights"));
    }
    SCV_RETURN_IF_ERROR(
        Annotate(global.CheckSameLayout(*u.weights), absl::StrCat("site '", u.site_id, "'")));
  }
  return absl::OkStatus();
}

// Applies `combine` to every coordinate: it receives the clients' values for one coordinate.
absl::StatusOr<TensorSet> Coordinatewise(
    const TensorSet& global, const std::vector<ClientUpdate>& updates,
    const std::function<double(std::vector<double>&)>& combine) {
  SCV_RETURN_IF_ERROR(CheckUpdates(global, updates));
  TensorSet out;
  std::vector<std::vector<double>> values(updates.size());
  std::vector<double> column(updates.size());
  for (size_t t = 0; t < global.size(); ++t) {
    const Tensor& g = global.tensors()[t];
    for (size_t c = 0; c < updates.size(); ++c) {
      values[c] = protocol::ToDoubles(updates[c].weights->tensors()[t]);
    }
    std::vector<double> result(values.empty() ? 0 : values[0].size());
    for (size_t i = 0; i < result.size(); ++i) {
      for (size_t c = 0; c < updates.size(); ++c) column[c] = values[c][i];
      result[i] = combine(column);
    }
    SCV_RETURN_IF_ERROR(out.Add(protocol::FromDoubles(g.name, g.shape, g.dtype, result)));
  }
  return out;
}

}  // namespace

absl::StatusOr<TensorSet> FedAvg::Aggregate(const TensorSet& global,
                                            const std::vector<ClientUpdate>& updates) const {
  double total = 0;
  for (const ClientUpdate& u : updates) {
    if (u.num_samples == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("fedavg: site '", u.site_id, "' reported 0 samples"));
    }
    total += static_cast<double>(u.num_samples);
  }
  std::vector<double> weights;
  for (const ClientUpdate& u : updates) weights.push_back(u.num_samples / total);
  return Coordinatewise(global, updates, [&weights](std::vector<double>& v) {
    double sum = 0;
    for (size_t c = 0; c < v.size(); ++c) sum += weights[c] * v[c];
    return sum;
  });
}

absl::StatusOr<TensorSet> CoordinateMedian::Aggregate(
    const TensorSet& global, const std::vector<ClientUpdate>& updates) const {
  return Coordinatewise(global, updates, [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  });
}

absl::StatusOr<TensorSet> TrimmedMean::Aggregate(const TensorSet& global,
                                                 const std::vector<ClientUpdate>& updates) const {
  if (trim_ < 0 || 2 * static_cast<size_t>(trim_) >= updates.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "trimmed_mean: cannot trim ", trim_, " from each side of ", updates.size(), " updates"));
  }
  const int trim = trim_;
  return Coordinatewise(global, updates, [trim](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (size_t i = trim; i < v.size() - trim; ++i) sum += v[i];
    return sum / static_cast<double>(v.size() - 2 * trim);
  });
}

absl::StatusOr<std::unique_ptr<AggregationStrategy>> MakeStrategy(const std::string& spec) {
  if (spec.empty() || spec == "fedavg" || spec == "fedprox") return std::make_unique<FedAvg>();
  if (spec == "median") return std::make_unique<CoordinateMedian>();
  if (absl::StartsWith(spec, "trimmed_mean:")) {
    int k = 0;
    if (absl::SimpleAtoi(spec.substr(13), &k) && k >= 0) return std::make_unique<TrimmedMean>(k);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("strategy '", spec, "': unknown (fedavg, fedprox, median, trimmed_mean:<k>)"));
}

}  // namespace scancov::aggregator
