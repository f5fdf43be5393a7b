#include "aggregator/coordinator/study_spec_json.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace scancov::aggregator {
namespace {

// Key order kept, so that a steward reads the options in the order the coordinator wrote them.
using Json = nlohmann::ordered_json;

// "parse error at byte 17: <nlohmann's explanation>" for text that is not JSON.
absl::StatusOr<Json> ParseJson(const std::string& text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not JSON: parse error at byte ", e.byte, ": ", e.what()));
  }
}

// The text of the JSON-object field given under one of `names` (the plain name first, then the
// older ones whose value is the object's text), removed from `file`; "" when absent.
absl::StatusOr<std::string> TakeObjectField(Json& file, const std::vector<std::string>& names) {
  std::vector<std::string> given;
  for (const std::string& n : names) {
    if (file.contains(n)) given.push_back(n);
  }
  if (given.empty()) return std::string();
  if (given.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "study spec: \"", absl::StrJoin(given, "\" and \""), "\" name the same field: give one"));
  }
  const std::string& name = given[0];
  Json value = std::move(file[name]);
  file.erase(name);
  if (value.is_object()) return value.dump();
  if (!value.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("study spec: \"", name,
                     "\" must be a JSON object (or, in the older form, a string holding one)"));
  }
  std::string text = value.get<std::string>();
  if (text.empty()) return text;
  absl::StatusOr<Json> inner = ParseJson(text, absl::StrCat("study spec: \"", name, "\""));
  if (!inner.ok()) return inner.status();
  if (!inner->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("study spec: \"", name, "\" must hold a JSON object"));
  }
  return text;
}

}  // namespace

absl::StatusOr<v1::StudySpec> StudySpecFromJson(const std::string& json) {
  absl::StatusOr<Json> file = ParseJson(json, "study spec");
  if (!file.ok()) return file.status();
  if (!file->is_object()) return absl::InvalidArgumentError("study spec: not a JSON object");
  absl::StatusOr<std::string> spec_json = TakeObjectField(*file, {"spec", "specJson", "spec_json"});
  if (!spec_json.ok()) return spec_json.status();
  absl::StatusOr<std::string> privacy_json =
      TakeObjectField(*file, {"privacy", "privacyJson", "privacy_json"});
  if (!privacy_json.ok()) return privacy_json.status();

  v1::StudySpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(file->dump(), &spec, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("study spec: ", std::string(status.message())));
  }
  spec.set_spec_json(*std::move(spec_json));
  spec.set_privacy_json(*std::move(privacy_json));
  return spec;
}

}  // namespace scancov::aggregator
