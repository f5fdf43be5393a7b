#include "aggregator/coordinator/report_section.h"

#include "absl/strings/str_cat.h"

namespace scancov::aggregator {

// Each kind's section, defined in its own file by SCANCOV_REGISTER_REPORT_SECTION.
#define SCANCOV_STUDY_KIND(name, family, needs) const ReportSection& ReportSection_##name();
#include "protocol/study_kinds.def"

std::string ReportSection::RoundLabel(const v1::StudyStatus& status,
                                      const v1::RoundStatus& r) const {
  if (status.spec().kind() == v1::STUDY_KIND_ANALYSIS) return "per-site statistics";
  if (r.round() == 0) return "init";
  if (r.round() > status.spec().rounds()) return "final evaluation";
  return absl::StrCat("train ", r.round());
}

bool ReportSection::FixedRounds(const v1::StudyStatus& status) const {
  return status.spec().kind() == v1::STUDY_KIND_TRAINING;
}

const ReportSection& ReportSectionFor(const v1::StudyStatus& status) {
  static const ReportSection* fallback = new ReportSection;
  absl::StatusOr<protocol::StudyKind> kind = protocol::StudyKindOf(status.spec());
  if (!kind.ok()) return *fallback;
  switch (*kind) {
#define SCANCOV_STUDY_KIND(name, family, needs) \
  case protocol::StudyKind::name:               \
    return ReportSection_##name();
#include "protocol/study_kinds.def"
  }
  return *fallback;
}

}  // namespace scancov::aggregator
