#include "node/control_egress.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace scancov::node {
namespace {

using nlohmann::json;

json UnixOrNull(absl::Time t) {
  return t == absl::InfinitePast() ? json(nullptr) : json(absl::ToUnixSeconds(t));
}

std::string Utc(const json& unix_seconds) {
  if (!unix_seconds.is_number_integer()) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(unix_seconds.get<int64_t>()),
                          absl::UTCTimeZone());
}

std::string HeartbeatText(const json& j) {
  std::string text =
      absl::StrCat(j.value("beats", int64_t{0}), " beats (", j.value("errors", int64_t{0}),
                   " answered by an error), ", j.value("bytes", uint64_t{0}), " bytes");
  if (j.contains("interval_s")) absl::StrAppend(&text, ", every ", j["interval_s"].dump(), " s");
  if (j.contains("first_unix") && !j["first_unix"].is_null()) {
    absl::StrAppend(&text, ", ", Utc(j["first_unix"]), " to ", Utc(j.value("last_unix", json())),
                    " UTC");
  }
  std::vector<std::string> stages;
  for (const json& s : j.value("stages", json::array())) stages.push_back(s.dump());
  absl::StrAppend(&text, "; fields ",
                  absl::StrJoin(j.value("fields", std::vector<std::string>()), ", "),
                  "; stages: ", stages.empty() ? "none" : absl::StrJoin(stages, ", "));
  if (j.value("stages_not_listed", int64_t{0}) > 0) {
    absl::StrAppend(&text, " and ", j["stages_not_listed"].dump(), " more");
  }
  std::vector<std::string> progress;
  for (const json& p : j.value("progress", json::array())) progress.push_back(p.dump());
  if (!progress.empty()) absl::StrAppend(&text, "; progress: ", absl::StrJoin(progress, ", "));
  if (j.value("progress_not_listed", int64_t{0}) > 0) {
    absl::StrAppend(&text, " and ", j["progress_not_listed"].dump(), " more");
  }
  return text;
}

std::string FieldsText(const json& j);

std::string RegisterText(const json& j) {
  return absl::StrCat(FieldsText(j), " (the site id travels in the certificate, not as a field)");
}

// Every field of `message` by its proto name (enums by name, defaults included).
absl::StatusOr<std::string> FieldsJson(const google::protobuf::Message& message, const char* kind) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  if (auto s = google::protobuf::util::MessageToJsonString(message, &text, options); !s.ok()) {
    return absl::InternalError(absl::StrCat(kind, " ledger entry: ", s.ToString()));
  }
  return text;
}

// "name=value ..." in the summary's order.
std::string FieldsText(const json& j) {
  std::vector<std::string> fields;
  for (const auto& [k, v] : j.items()) {
    fields.push_back(absl::StrCat(k, "=", v.is_string() ? v.get<std::string>() : v.dump()));
  }
  return absl::StrJoin(fields, " ");
}

}  // namespace

void HeartbeatTally::Add(const v1::HeartbeatRequest& request, absl::Time sent, bool answered) {
  absl::MutexLock lock(&mu_);
  HeartbeatSummary& s = summary_;
  ++s.beats;
  if (!answered) ++s.errors;
  s.bytes += request.ByteSizeLong();
  if (s.first == absl::InfinitePast()) s.first = sent;
  s.last = sent;
  if (stages_seen_.insert(request.stage()).second) {
    if (s.stages.size() < kMaxListed) {
      s.stages.push_back(request.stage());
    } else {
      ++s.stages_not_listed;
    }
  }
  if (progress_seen_.insert(request.progress()).second) {
    if (s.progress.size() < kMaxListed) {
      s.progress.push_back(request.progress());
    } else {
      ++s.progress_not_listed;
    }
  }
}

HeartbeatSummary HeartbeatTally::Summary() const {
  absl::MutexLock lock(&mu_);
  return summary_;
}

std::string HeartbeatSummaryJson(const HeartbeatSummary& s, absl::Duration interval) {
  const double seconds = absl::ToDoubleSeconds(interval);
  const json interval_s = seconds == static_cast<double>(static_cast<int64_t>(seconds))
                              ? json(static_cast<int64_t>(seconds))
                              : json(seconds);
  return json{{"fields", {"task_id", "stage", "progress"}},
              {"interval_s", interval_s},
              {"beats", s.beats},
              {"errors", s.errors},
              {"bytes", s.bytes},
              {"first_unix", UnixOrNull(s.first)},
              {"last_unix", UnixOrNull(s.last)},
              {"stages", s.stages},
              {"stages_not_listed", s.stages_not_listed},
              {"progress", s.progress},
              {"progress_not_listed", s.progress_not_listed}}
      .dump();
}

std::string HeartbeatState(const HeartbeatSummary& s) {
  return s.beats > s.errors ? "sent" : "failed";
}

std::string HeartbeatDetail(const HeartbeatSummary& s) {
  return absl::StrCat(s.beats - s.errors, " of ", s.beats, " beats answered");
}

absl::StatusOr<std::string> RegisterSummaryJson(const v1::RegisterRequest& request) {
  return FieldsJson(request, kRegisterEntry);
}

absl::StatusOr<std::string> DecisionSummaryJson(const v1::StudyDecision& decision) {
  return FieldsJson(decision, kDecisionEntry);
}

std::string ControlEntryText(const std::string& kind, const std::string& summary_json) {
  const json j = json::parse(summary_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "";
  try {
    if (kind == kHeartbeatEntry) return HeartbeatText(j);
    if (kind == kRegisterEntry) return RegisterText(j);
    if (kind == kDecisionEntry) return FieldsText(j);
  } catch (const json::exception&) {
    return "";  // a summary of another shape: the caller prints it as recorded
  }
  return "";
}

}  // namespace scancov::node
