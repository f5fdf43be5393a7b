// The registry of study kinds (protocol/study_kinds.def): their names, families and the one
// parser that tells which kind a study spec or a task is. Every part of the project that acts
// by kind (the aggregator's study logics, the node's tasks and gate, the coordinator's reports)
// looks the kind up here; no other file spells a kind's name.
//
// Thread safety: pure functions over constant tables.
#ifndef SCANCOV_PROTOCOL_STUDY_KIND_H_
#define SCANCOV_PROTOCOL_STUDY_KIND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protocol/scancov.pb.h"

namespace scancov::protocol {

// One enumerator per line of study_kinds.def, named as the kind (e.g.
// StudyKind::logistic_regression), so that code and wire use the same word.
enum class StudyKind {
#define SCANCOV_STUDY_KIND(name, family, needs) name,
#include "protocol/study_kinds.def"
};

struct StudyKindInfo {
  StudyKind kind;
  absl::string_view name;
  v1::StudyKind family;  // TRAINING or ANALYSIS
  bool needs_torch;      // the node's task needs LibTorch
};

// Every kind, in study_kinds.def order.
const std::vector<StudyKindInfo>& AllStudyKinds();
const StudyKindInfo& InfoOf(StudyKind kind);
absl::string_view StudyKindName(StudyKind kind);
// InvalidArgument naming the unknown kind and the known ones.
absl::StatusOr<StudyKind> ParseStudyKind(absl::string_view name);

// The kind a study is: spec.study_kind when set (it must belong to spec.kind's family),
// otherwise the selector of older specs in spec_json ("task" for TRAINING, "analysis" for
// ANALYSIS), otherwise the family's first kind. When both are given they must agree.
// InvalidArgument names the field and the value. The aggregator calls this once, at
// CreateStudy, and stores the answer in spec.study_kind (NormalizeStudyKind).
absl::StatusOr<StudyKind> StudyKindOf(const v1::StudySpec& spec);
// The same for a task; the aggregator fills task.study_kind from the study.
absl::StatusOr<StudyKind> StudyKindOf(const v1::Task& task);

// Sets spec->study_kind to StudyKindOf(*spec) (the aggregator's one parse of the selector).
absl::Status NormalizeStudyKind(v1::StudySpec* spec);

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_STUDY_KIND_H_
