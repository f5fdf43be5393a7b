// ReportSection: what one study kind adds to the generic study report (report.h): how its
// rounds are labelled, whether its number of rounds is known in advance, its own Markdown
// section and the files it writes beside report.md. One per kind of protocol/study_kinds.def,
// defined in aggregator/coordinator/<kind>_report.cc and registered there with
// SCANCOV_REGISTER_REPORT_SECTION. Pure functions of a StudyStatus.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_REPORT_SECTION_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_REPORT_SECTION_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"
#include "protocol/study_kind.h"

namespace scancov::aggregator {

struct ReportFile {
  std::string name;  // a file name inside the report folder
  std::string content;
};

class ReportSection {
 public:
  virtual ~ReportSection() = default;
  // The "what" column of the rounds table. By default: "per-site statistics" for analyses;
  // "init", "train <r>" and "final evaluation" for training studies.
  virtual std::string RoundLabel(const v1::StudyStatus& status, const v1::RoundStatus& r) const;
  // Whether the study's rounds are spec.rounds + 1 (progress shows "round r of n"). By default
  // training studies have fixed rounds and analyses do not.
  virtual bool FixedRounds(const v1::StudyStatus& status) const;
  // The kind's own section, appended after the rounds tables ("" for none).
  virtual std::string Markdown(const v1::StudyStatus& status) const { return ""; }
  // Files written beside report.md (tables, figures).
  virtual absl::StatusOr<std::vector<ReportFile>> Files(const v1::StudyStatus& status) const {
    return std::vector<ReportFile>{};
  }
};

// The section of the study's kind; the default section for a kind this build does not know.
const ReportSection& ReportSectionFor(const v1::StudyStatus& status);

// In a kind's own file, at namespace scancov::aggregator scope:
//   SCANCOV_REGISTER_REPORT_SECTION(logistic_regression, LogisticRegressionReport);
#define SCANCOV_REGISTER_REPORT_SECTION(kind, Section)                 \
  const ::scancov::aggregator::ReportSection& ReportSection_##kind() { \
    static const Section* section = new Section;                       \
    return *section;                                                   \
  }

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_REPORT_SECTION_H_
