#include "privacy/secagg/study_options.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "privacy/secagg/config.h"
#include "privacy/secagg/fixed_point.h"

namespace scancov::privacy::secagg {
namespace {

// An integer option in [lo, hi]; `out` keeps its default when the key is absent.
absl::Status ReadInt(const nlohmann::json& block, const char* key, int lo, int hi, int* out) {
  if (!block.contains(key)) return absl::OkStatus();
  const nlohmann::json& v = block.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "' must be an integer in [", lo, ", ", hi, "]"));
  }
  *out = static_cast<int>(v.get<int64_t>());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StudyOptions> ParseStudyOptions(const nlohmann::json& block) {
  if (!block.is_object()) return absl::InvalidArgumentError("not a JSON object");
  for (const auto& [key, value] : block.items()) {
    if (key != "threshold" && key != "fractional_bits" && key != "max_abs_value" &&
        key != "neighbours") {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '", key, "'"));
    }
  }
  if (!block.contains("threshold")) return absl::InvalidArgumentError("'threshold' is required");
  StudyOptions s;
  const int max_sites = static_cast<int>(kMaxSites);
  SCV_RETURN_IF_ERROR(ReadInt(block, "threshold", 1, max_sites, &s.threshold));
  SCV_RETURN_IF_ERROR(ReadInt(block, "fractional_bits", 0, 62, &s.fractional_bits));
  SCV_RETURN_IF_ERROR(ReadInt(block, "neighbours", 0, max_sites, &s.neighbours));
  if (block.contains("max_abs_value")) {
    const nlohmann::json& v = block.at("max_abs_value");
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0) {
      return absl::InvalidArgumentError("'max_abs_value' must be a finite number > 0");
    }
    s.max_abs_value = v.get<double>();
  }
  return s;
}

absl::Status CheckStudyOptions(const StudyOptions& s, int num_sites) {
  const int group = s.neighbours == 0 ? num_sites : s.neighbours + 1;
  if (s.threshold < 2 || s.threshold > num_sites || 2 * s.threshold <= group) {
    return absl::InvalidArgumentError(absl::StrCat("threshold must be at least 2, at most the ",
                                                   num_sites, " sites and more than half of ",
                                                   group, " (a majority of each neighbourhood)"));
  }
  if (s.neighbours % 2 != 0 || (s.neighbours > 0 && s.neighbours >= num_sites)) {
    return absl::InvalidArgumentError("neighbours must be 0 or even and below the number of sites");
  }
  absl::StatusOr<FixedPointCodec> codec =
      FixedPointCodec::Create({s.fractional_bits, s.max_abs_value, num_sites});
  return codec.status();
}

}  // namespace scancov::privacy::secagg
