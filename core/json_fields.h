// Typed reads of JSON values and object fields with errors that name where they were read and
// the field: InvalidArgument("<where>: <field> must be ..."). Every spec, config and site answer
// that arrives as JSON (the wire modules of protocol/wire, the network configs of models/nn) is
// read through these, so a value of the wrong type is an error, never an exception.
#ifndef SCANCOV_CORE_JSON_FIELDS_H_
#define SCANCOV_CORE_JSON_FIELDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace scancov {

// An integer in lo..hi (a JSON integer: 2.5 and "2" are refused).
absl::StatusOr<int64_t> JsonIntIn(const nlohmann::json& value, absl::string_view where,
                                  absl::string_view what, int64_t lo, int64_t hi);
absl::StatusOr<double> JsonNumber(const nlohmann::json& value, absl::string_view where,
                                  absl::string_view what);
absl::StatusOr<bool> JsonBool(const nlohmann::json& value, absl::string_view where,
                              absl::string_view what);

// `text` as a JSON object ("" is {}); InvalidArgument otherwise.
absl::StatusOr<nlohmann::json> ParseObject(const std::string& text, absl::string_view where);

// Fields of an object; an absent (or null) field gives the default.
absl::StatusOr<std::string> StringField(const nlohmann::json& object, absl::string_view key,
                                        absl::string_view where, absl::string_view fallback);
absl::StatusOr<int64_t> IntField(const nlohmann::json& object, absl::string_view key,
                                 absl::string_view where, int64_t fallback, int64_t lo, int64_t hi);
// A finite number.
absl::StatusOr<double> NumberField(const nlohmann::json& object, absl::string_view key,
                                   absl::string_view where, double fallback);
absl::StatusOr<bool> BoolField(const nlohmann::json& object, absl::string_view key,
                               absl::string_view where, bool fallback);
// A list of at most `max_size` strings (absent: empty).
absl::StatusOr<std::vector<std::string>> StringListField(const nlohmann::json& object,
                                                         absl::string_view key,
                                                         absl::string_view where, size_t max_size);

}  // namespace scancov

#endif  // SCANCOV_CORE_JSON_FIELDS_H_
