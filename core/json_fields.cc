#include "core/json_fields.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace scancov {

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

namespace {

const nlohmann::json* Find(const nlohmann::json& object, absl::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseObject(const std::string& text, absl::string_view where) {
  nlohmann::json j = nlohmann::json::parse(text.empty() ? "{}" : text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not a JSON object"));
  }
  return j;
}

absl::StatusOr<std::string> StringField(const nlohmann::json& object, absl::string_view key,
                                        absl::string_view where, absl::string_view fallback) {
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr) return std::string(fallback);
  if (!v->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", key, " must be a string"));
  }
  return v->get<std::string>();
}

absl::StatusOr<int64_t> IntField(const nlohmann::json& object, absl::string_view key,
                                 absl::string_view where, int64_t fallback, int64_t lo,
                                 int64_t hi) {
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr) return fallback;
  return JsonIntIn(*v, where, key, lo, hi);
}

absl::StatusOr<double> NumberField(const nlohmann::json& object, absl::string_view key,
                                   absl::string_view where, double fallback) {
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_number() || !std::isfinite(v->get<double>())) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", key, " must be a finite number"));
  }
  return v->get<double>();
}

absl::StatusOr<bool> BoolField(const nlohmann::json& object, absl::string_view key,
                               absl::string_view where, bool fallback) {
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr) return fallback;
  return JsonBool(*v, where, key);
}

absl::StatusOr<std::vector<std::string>> StringListField(const nlohmann::json& object,
                                                         absl::string_view key,
                                                         absl::string_view where, size_t max_size) {
  std::vector<std::string> out;
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr) return out;
  if (!v->is_array() || v->size() > max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", key, " must be a list of at most ", max_size, " strings"));
  }
  for (const nlohmann::json& e : *v) {
    if (!e.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", key, " must hold strings"));
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace scancov
