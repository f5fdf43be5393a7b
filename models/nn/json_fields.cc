#include "models/nn/json_fields.h"

#include "absl/strings/str_cat.h"

namespace scancov::nn {

absl::StatusOr<int64_t> JsonIntIn(const nlohmann::json& value, absl::string_view where,
                                  absl::string_view what, int64_t lo, int64_t hi) {
  if (!value.is_number_integer() || value.get<int64_t>() < lo || value.get<int64_t>() > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", what, " must be an integer in ", lo, "..", hi));
  }
  return value.get<int64_t>();
}

absl::StatusOr<double> JsonNumber(const nlohmann::json& value, absl::string_view where,
                                  absl::string_view what) {
  if (!value.is_number()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what, " must be a number"));
  }
  return value.get<double>();
}

absl::StatusOr<bool> JsonBool(const nlohmann::json& value, absl::string_view where,
                              absl::string_view what) {
  if (!value.is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what, " must be true or false"));
  }
  return value.get<bool>();
}

}  // namespace scancov::nn
