#include "aggregator/server/strategy.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "aggregator/server/strategy_fedavg.h"
#include "aggregator/server/strategy_fedopt.h"
#include "aggregator/server/strategy_krum.h"
#include "aggregator/server/strategy_robust.h"
#include "core/status_macros.h"

namespace scancov::aggregator {

using protocol::TensorSet;

absl::Status RoundAccumulator::Add(const ClientUpdate& update) {
  if (update.weights == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("aggregate: site '", update.site_id, "' has no weights"));
  }
  SCV_RETURN_IF_ERROR(BeginUpdate(update.site_id, update.num_samples));
  const std::vector<protocol::Tensor>& tensors = update.weights->tensors();
  for (size_t i = 0; i < tensors.size(); ++i) SCV_RETURN_IF_ERROR(AddTensor(i, tensors[i]));
  return EndUpdate();
}

absl::StatusOr<StrategyStep> AggregationStrategy::Aggregate(
    const TensorSet& global, const std::vector<ClientUpdate>& updates,
    const StrategyState& state) const {
  if (updates.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(name(), ": no client updates"));
  }
  std::unique_ptr<RoundAccumulator> round = Begin(global);
  for (const ClientUpdate& u : updates) SCV_RETURN_IF_ERROR(round->Add(u));
  return round->Finish(global, state);
}

namespace {

constexpr int64_t kMaxCount = 1000000;

// A count in a spec ("<f>", "<k>", "<m>"), in [min, kMaxCount].
absl::StatusOr<size_t> ParseCount(absl::string_view what, absl::string_view text, int64_t min) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min || value > kMaxCount) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be an integer in [", min, ", ",
                                                   kMaxCount, "], got '", text, "'"));
  }
  return static_cast<size_t>(value);
}

absl::StatusOr<std::unique_ptr<AggregationStrategy>> Parse(const std::string& spec) {
  const std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  const absl::string_view name = parts[0];
  const size_t args = parts.size() - 1;
  auto expect_args = [&](size_t n, absl::string_view form) -> absl::Status {
    if (args == n) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("expected ", form));
  };
  if (spec.empty() || name == "fedavg" || name == "fedprox") {
    SCV_RETURN_IF_ERROR(expect_args(0, absl::StrCat(name, " without options")));
    return std::make_unique<FedAvg>();
  }
  if (name == "fedadam" || name == "fedyogi") {
    if (args > 1)
      return absl::InvalidArgumentError(absl::StrCat("expected ", name, "[:key=value,...]"));
    SCV_ASSIGN_OR_RETURN(FedOptOptions options, ParseFedOptOptions(args ? parts[1] : ""));
    return std::make_unique<FedOpt>(name == "fedadam" ? FedOptMethod::kAdam : FedOptMethod::kYogi,
                                    options);
  }
  if (name == "median") {
    SCV_RETURN_IF_ERROR(expect_args(0, "median without options"));
    return std::make_unique<CoordinateMedian>();
  }
  if (name == "trimmed_mean") {
    SCV_RETURN_IF_ERROR(expect_args(1, "trimmed_mean:<k>"));
    SCV_ASSIGN_OR_RETURN(size_t k, ParseCount("k", parts[1], 0));
    return std::make_unique<TrimmedMean>(k);
  }
  if (name == "krum") {
    SCV_RETURN_IF_ERROR(expect_args(1, "krum:<f>"));
    SCV_ASSIGN_OR_RETURN(size_t f, ParseCount("f", parts[1], 0));
    return std::make_unique<Krum>(f, 0);
  }
  if (name == "multikrum") {
    SCV_RETURN_IF_ERROR(expect_args(2, "multikrum:<f>:<m>"));
    SCV_ASSIGN_OR_RETURN(size_t f, ParseCount("f", parts[1], 0));
    SCV_ASSIGN_OR_RETURN(size_t m, ParseCount("m", parts[2], 1));
    return std::make_unique<Krum>(f, m);
  }
  return absl::InvalidArgumentError(
      "unknown (fedavg, fedprox, fedadam[:key=value,...], fedyogi[:key=value,...], median, "
      "trimmed_mean:<k>, krum:<f>, multikrum:<f>:<m>)");
}

}  // namespace

absl::StatusOr<std::unique_ptr<AggregationStrategy>> MakeStrategy(const std::string& spec) {
  absl::StatusOr<std::unique_ptr<AggregationStrategy>> strategy = Parse(spec);
  if (!strategy.ok()) return Annotate(strategy.status(), absl::StrCat("strategy '", spec, "'"));
  return strategy;
}

}  // namespace scancov::aggregator
