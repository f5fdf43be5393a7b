#include "node/tabular_features.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"

namespace scancov::node {
namespace {

double Transform(const std::string& transform, double x) {
  if (transform == "log") return std::log(0.001 + x);
  if (transform == "neglog_101_minus") return -std::log(1.0 + 100.0 - x);
  return x;
}

// A stable number in [0, 1) from the patient key: the split never changes between rounds.
double SplitCoordinate(const std::string& key, uint64_t seed) {
  const std::string digest = Sha256Digest(absl::StrCat(seed, ":", key));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(digest[i]);
  return static_cast<double>(v >> 11) / static_cast<double>(1ull << 53);
}

}  // namespace

bool InHoldout(const std::string& key, uint64_t seed, double holdout_fraction) {
  return SplitCoordinate(key, seed) < holdout_fraction;
}

double TransformFeature(const FeatureSpec& f, double raw) {
  if (std::isnan(raw)) return raw;
  return (Transform(f.transform, raw) - f.center) / f.scale;
}

absl::StatusOr<PreparedData> PrepareTabular(const TabularRows& rows, const TabularTaskSpec& spec,
                                            uint64_t split_seed) {
  const size_t n = rows.keys.size();
  const size_t c = rows.columns.size();
  if (c != spec.features.size() || rows.x.size() != n * c || rows.y.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("dataset: ", n, " rows x ", c,
                                                   " columns do not match the spec's ",
                                                   spec.features.size(), " features"));
  }
  PreparedData out;
  for (PreparedSplit* s : {&out.train, &out.validation}) s->cols = static_cast<int64_t>(c);
  for (size_t i = 0; i < n; ++i) {
    const double y = rows.y[i];
    if (y != 0.0 && y != 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("dataset: row ", i, ": outcome '", spec.outcome, "' is not 0/1"));
    }
    PreparedSplit& split =
        InHoldout(rows.keys[i], split_seed, spec.validation_fraction) ? out.validation : out.train;
    for (size_t j = 0; j < c; ++j) {
      const FeatureSpec& f = spec.features[j];
      const double raw = rows.x[i * c + j];
      double v = std::isnan(raw) ? 0.0 : TransformFeature(f, raw);
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(absl::StrCat("dataset: row ", i, ": variable '", f.name,
                                                       "' is outside its transform's domain"));
      }
      split.x.push_back(static_cast<float>(v));
    }
    split.y.push_back(static_cast<float>(y));
    ++split.rows;
  }
  return out;
}

}  // namespace scancov::node
