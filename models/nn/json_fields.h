// Typed reads of JSON config values (the model configs of models/nn) with errors that name the
// config and the field: InvalidArgument("<where>: <what> must be ..."). LibTorch-free.
#ifndef SCANCOV_MODELS_NN_JSON_FIELDS_H_
#define SCANCOV_MODELS_NN_JSON_FIELDS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace scancov::nn {

// An integer in lo..hi (a JSON integer: 2.5 and "2" are refused).
absl::StatusOr<int64_t> JsonIntIn(const nlohmann::json& value, absl::string_view where,
                                  absl::string_view what, int64_t lo, int64_t hi);
absl::StatusOr<double> JsonNumber(const nlohmann::json& value, absl::string_view where,
                                  absl::string_view what);
absl::StatusOr<bool> JsonBool(const nlohmann::json& value, absl::string_view where,
                              absl::string_view what);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_JSON_FIELDS_H_
