#include "privacy/dp/update_clipping.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::privacy::dp {
namespace {

using protocol::Tensor;
using protocol::TensorSet;

absl::Status NotFinite(const Tensor& tensor, absl::string_view what, size_t element) {
  return absl::InvalidArgumentError(absl::StrCat("dp update: tensor '", tensor.name, "': ", what,
                                                 " is not finite at element ", element));
}

absl::StatusOr<std::vector<double>> TensorUpdate(const Tensor& local, const Tensor& global) {
  std::vector<double> values = protocol::ToDoubles(local);
  const std::vector<double> base = protocol::ToDoubles(global);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return NotFinite(local, "the local weight", i);
    if (!std::isfinite(base[i])) return NotFinite(local, "the global weight", i);
    values[i] -= base[i];
    if (!std::isfinite(values[i])) return NotFinite(local, "the update (local - global)", i);
  }
  return values;
}

// The norm as max_abs * root_sum, root_sum = sqrt(sum (x / max_abs)^2) in [1, sqrt(n)]: the
// squares neither overflow nor underflow.
struct ScaledNorm {
  double max_abs = 0.0;
  double root_sum = 0.0;
};

ScaledNorm ComputeScaledNorm(const ModelUpdate& update) {
  ScaledNorm norm;
  for (const ModelUpdate::Part& part : update.parts) {
    for (double x : part.values) norm.max_abs = std::max(norm.max_abs, std::fabs(x));
  }
  if (norm.max_abs == 0.0) return norm;
  double sum = 0.0;
  for (const ModelUpdate::Part& part : update.parts) {
    for (double x : part.values) {
      const double y = x / norm.max_abs;
      sum += y * y;
    }
  }
  norm.root_sum = std::sqrt(sum);
  return norm;
}

absl::Status CheckPart(const TensorSet& global, const ModelUpdate::Part& part) {
  if (part.index >= global.size() || !protocol::IsFloating(global.tensors()[part.index].dtype) ||
      static_cast<int64_t>(part.values.size()) != global.tensors()[part.index].NumElements()) {
    return absl::InvalidArgumentError(absl::StrCat("dp update: part for tensor #", part.index,
                                                   " does not match the global weights"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelUpdate> ComputeUpdate(const TensorSet& local, const TensorSet& global) {
  SCV_RETURN_IF_ERROR(Annotate(local.CheckSameLayout(global), "dp update"));
  ModelUpdate update;
  for (size_t i = 0; i < local.size(); ++i) {
    const Tensor& tensor = local.tensors()[i];
    if (!protocol::IsFloating(tensor.dtype)) continue;
    SCV_ASSIGN_OR_RETURN(std::vector<double> values, TensorUpdate(tensor, global.tensors()[i]));
    update.parts.push_back({i, std::move(values)});
  }
  return update;
}

double L2Norm(const ModelUpdate& update) {
  const ScaledNorm norm = ComputeScaledNorm(update);
  return norm.max_abs * norm.root_sum;
}

absl::StatusOr<double> ClipToNorm(double clip_norm, ModelUpdate* update) {
  if (!(clip_norm > 0.0 && std::isfinite(clip_norm))) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp clip: clip norm must be finite and > 0, not ", clip_norm));
  }
  const ScaledNorm norm = ComputeScaledNorm(*update);
  if (norm.max_abs * norm.root_sum <= clip_norm) return 1.0;
  // x * C / norm as (x / max_abs) * (C / root_sum): no intermediate overflows or underflows.
  const double factor = clip_norm / norm.root_sum;
  for (ModelUpdate::Part& part : update->parts) {
    for (double& x : part.values) x = (x / norm.max_abs) * factor;
  }
  return factor / norm.max_abs;
}

absl::Status CheckNoiseSpec(const NoiseSpec& spec) {
  if (!(spec.clip_norm > 0.0 && std::isfinite(spec.clip_norm))) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp noise: clip norm must be finite and > 0, not ", spec.clip_norm));
  }
  if (!(spec.noise_multiplier >= 0.0 && std::isfinite(spec.noise_multiplier))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dp noise: noise multiplier must be finite and >= 0, not ", spec.noise_multiplier));
  }
  if (!(spec.share > 0.0 && spec.share <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp noise: share must be in (0, 1], not ", spec.share));
  }
  return absl::OkStatus();
}

double DistributedShare(int num_sites) { return 1.0 / static_cast<double>(num_sites); }

double NoiseStddev(const NoiseSpec& spec) {
  return spec.noise_multiplier * spec.clip_norm * std::sqrt(spec.share);
}

absl::Status AddGaussianNoise(double stddev, GaussianSource& source, ModelUpdate* update) {
  if (!(stddev >= 0.0 && std::isfinite(stddev))) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp noise: standard deviation must be finite and >= 0, not ", stddev));
  }
  if (stddev == 0.0) return absl::OkStatus();
  std::vector<double> noise;
  for (ModelUpdate::Part& part : update->parts) {
    noise.resize(part.values.size());
    SCV_RETURN_IF_ERROR(source.FillStandardNormal(absl::MakeSpan(noise)));
    for (size_t i = 0; i < noise.size(); ++i) part.values[i] += stddev * noise[i];
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorSet> ApplyUpdate(const TensorSet& local, const TensorSet& global,
                                      const ModelUpdate& update) {
  SCV_RETURN_IF_ERROR(Annotate(local.CheckSameLayout(global), "dp update"));
  std::vector<const ModelUpdate::Part*> part_of(global.size(), nullptr);
  for (const ModelUpdate::Part& part : update.parts) {
    SCV_RETURN_IF_ERROR(CheckPart(global, part));
    part_of[part.index] = &part;
  }
  TensorSet out;
  for (size_t i = 0; i < global.size(); ++i) {
    const Tensor& base = global.tensors()[i];
    if (part_of[i] == nullptr) {
      if (protocol::IsFloating(base.dtype)) {
        return absl::InvalidArgumentError(
            absl::StrCat("dp update: no update for floating tensor '", base.name, "'"));
      }
      SCV_RETURN_IF_ERROR(out.Add(local.tensors()[i]));
      continue;
    }
    std::vector<double> values = protocol::ToDoubles(base);
    for (size_t k = 0; k < values.size(); ++k) values[k] += part_of[i]->values[k];
    SCV_RETURN_IF_ERROR(out.Add(protocol::FromDoubles(base.name, base.shape, base.dtype, values)));
  }
  // A value beyond the dtype's range (float16 stops at 65504) becomes infinite when written.
  SCV_RETURN_IF_ERROR(Annotate(protocol::CheckAllFinite(out), "dp update: after noise"));
  return out;
}

absl::StatusOr<TensorSet> PrivatizeWeights(const TensorSet& local, const TensorSet& global,
                                           const NoiseSpec& spec, GaussianSource& source,
                                           ClipReport* report) {
  SCV_RETURN_IF_ERROR(CheckNoiseSpec(spec));
  SCV_ASSIGN_OR_RETURN(ModelUpdate update, ComputeUpdate(local, global));
  const double norm_before = L2Norm(update);
  SCV_ASSIGN_OR_RETURN(double scale, ClipToNorm(spec.clip_norm, &update));
  SCV_RETURN_IF_ERROR(AddGaussianNoise(NoiseStddev(spec), source, &update));
  SCV_ASSIGN_OR_RETURN(TensorSet weights, ApplyUpdate(local, global, update));
  if (report != nullptr) *report = {norm_before, scale};
  return weights;
}

}  // namespace scancov::privacy::dp
