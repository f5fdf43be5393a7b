#include "protocol/study_kind.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace scancov::protocol {
namespace {

// Older specs name the kind inside spec_json under the family's selector key.
const char* SelectorKey(v1::StudyKind family) {
  return family == v1::STUDY_KIND_TRAINING ? "task" : "analysis";
}

absl::StatusOr<StudyKind> KindOf(v1::StudyKind family, const std::string& study_kind,
                                 const std::string& spec_json) {
  if (family != v1::STUDY_KIND_TRAINING && family != v1::STUDY_KIND_ANALYSIS) {
    return absl::InvalidArgumentError("study spec: kind must be TRAINING or ANALYSIS");
  }
  std::string selected;
  const nlohmann::json j =
      nlohmann::json::parse(spec_json.empty() ? "{}" : spec_json, nullptr, false);
  if (j.is_object() && j.contains(SelectorKey(family))) {
    const nlohmann::json& v = j.at(SelectorKey(family));
    if (!v.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec_json: \"", SelectorKey(family), "\" must be a string"));
    }
    selected = v.get<std::string>();
  }
  if (!study_kind.empty() && !selected.empty() && study_kind != selected) {
    return absl::InvalidArgumentError(absl::StrCat("study spec: study_kind '", study_kind,
                                                   "' but spec_json says \"", SelectorKey(family),
                                                   "\": \"", selected, "\""));
  }
  const std::string& name = study_kind.empty() ? selected : study_kind;
  if (name.empty()) {
    for (const StudyKindInfo& info : AllStudyKinds()) {
      if (info.family == family) return info.kind;
    }
  }
  SCV_ASSIGN_OR_RETURN(StudyKind kind, ParseStudyKind(name));
  if (InfoOf(kind).family != family) {
    return absl::InvalidArgumentError(
        absl::StrCat("study spec: '", name, "' is a ",
                     family == v1::STUDY_KIND_TRAINING ? "n analysis" : " training",
                     " kind, not a ", v1::StudyKind_Name(family), " one"));
  }
  return kind;
}

}  // namespace

const std::vector<StudyKindInfo>& AllStudyKinds() {
  static const auto* kinds = new std::vector<StudyKindInfo>{
#define SCANCOV_STUDY_KIND(name, family, needs) \
  {StudyKind::name, #name, v1::STUDY_KIND_##family, absl::string_view(#needs) == "torch"},
#include "protocol/study_kinds.def"
  };
  return *kinds;
}

const StudyKindInfo& InfoOf(StudyKind kind) { return AllStudyKinds()[static_cast<size_t>(kind)]; }

absl::string_view StudyKindName(StudyKind kind) { return InfoOf(kind).name; }

absl::StatusOr<StudyKind> ParseStudyKind(absl::string_view name) {
  std::vector<std::string> known;
  for (const StudyKindInfo& info : AllStudyKinds()) {
    if (info.name == name) return info.kind;
    known.emplace_back(info.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown study kind '", std::string(name),
                                                 "' (known: ", absl::StrJoin(known, ", "), ")"));
}

absl::StatusOr<StudyKind> StudyKindOf(const v1::StudySpec& spec) {
  return KindOf(spec.kind(), spec.study_kind(), spec.spec_json());
}

absl::StatusOr<StudyKind> StudyKindOf(const v1::Task& task) {
  if (!task.study_kind().empty()) {
    // A study's tasks may be of any TaskKind (an AI-severity study runs ANALYZE steps too):
    // the named kind's own family decides which selector must agree with it.
    SCV_ASSIGN_OR_RETURN(StudyKind kind, ParseStudyKind(task.study_kind()));
    return KindOf(InfoOf(kind).family, task.study_kind(), task.spec_json());
  }
  // A task from an aggregator that does not name the kind: the selector decides.
  const nlohmann::json j =
      nlohmann::json::parse(task.spec_json().empty() ? "{}" : task.spec_json(), nullptr, false);
  const bool training = (j.is_object() && j.contains(SelectorKey(v1::STUDY_KIND_TRAINING))) ||
                        task.kind() != v1::TASK_KIND_ANALYZE;
  return KindOf(training ? v1::STUDY_KIND_TRAINING : v1::STUDY_KIND_ANALYSIS, "", task.spec_json());
}

absl::Status NormalizeStudyKind(v1::StudySpec* spec) {
  SCV_ASSIGN_OR_RETURN(StudyKind kind, StudyKindOf(*spec));
  spec->set_study_kind(std::string(StudyKindName(kind)));
  return absl::OkStatus();
}

}  // namespace scancov::protocol
