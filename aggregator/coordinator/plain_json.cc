#include "aggregator/coordinator/plain_json.h"

#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace scancov::aggregator {
namespace {

void Unwrap(nlohmann::json& j) {
  if (j.is_array()) {
    for (nlohmann::json& e : j) Unwrap(e);
    return;
  }
  if (!j.is_object()) return;
  nlohmann::json out = nlohmann::json::object();
  for (auto& [key, value] : j.items()) {
    if (absl::EndsWith(key, "_json") && value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      const std::string plain = key.substr(0, key.size() - 5);
      if (text.empty()) {
        out[plain] = nullptr;
        continue;
      }
      nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded() && !j.contains(plain)) {
        Unwrap(parsed);
        out[plain] = std::move(parsed);
        continue;
      }
    }
    int64_t number = 0;
    if ((absl::EndsWith(key, "_unix") || absl::EndsWith(key, "_ms")) && value.is_string() &&
        absl::SimpleAtoi(value.get_ref<const std::string&>(), &number)) {
      out[key] = number;
      continue;
    }
    Unwrap(value);
    out[key] = std::move(value);
  }
  j = std::move(out);
}

}  // namespace

absl::StatusOr<nlohmann::json> PlainJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  if (auto s = google::protobuf::util::MessageToJsonString(message, &text, options); !s.ok()) {
    return absl::InternalError(absl::StrCat(message.GetTypeName(), " as JSON: ", s.ToString()));
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InternalError(absl::StrCat(message.GetTypeName(), " as JSON: not parseable"));
  }
  Unwrap(j);
  return j;
}

}  // namespace scancov::aggregator
