// What a node says when a task fails: a code from a fixed vocabulary plus named integers, never
// free text. An error's message may name a variable, a file or a library's complaint, and a
// coordinator who chooses the study's settings could steer such text towards a patient's value;
// so only the code and numbers taken from the site's policy (a minimum, a budget) leave the node.
// The full message stays in the node's task log for the steward.
//
//   absl::Status s = protocol::WithFailureCode(
//       absl::PermissionDeniedError("gate: variable 'crp' is kept back"),
//       protocol::FailureCode::kVariableKeptBack);
//   protocol::FailureReportOf(s)            // "variable_kept_back"
//   protocol::FailureReportOf(WithFailureCode(s2, kBelowMinimumCount, {{"min", 10}}))
//                                           // "below_minimum_count min=10"
//
// A Status without a code gets one from its absl code (invalid_spec, precondition, ...).
// The aggregator keeps only reports that parse (IsFailureReport); anything else becomes
// "unrecognized_failure".
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_FAILURE_CODE_H_
#define SCANCOV_PROTOCOL_FAILURE_CODE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace scancov::protocol {

enum class FailureCode {
  kNotApproved,         // the study is pending or denied at the site
  kKindNotRun,          // the node does not run this kind of task
  kInvalidSpec,         // the spec does not parse or is out of bounds
  kVariableKeptBack,    // a variable the task needs is not released by the site
  kOutcomeNotDeclared,  // the task read an outcome it did not declare
  kWeightsNotAllowed,   // the site's policy keeps model weights in
  kBelowMinimumCount,   // fewer patients (or events) than the minimum count
  kCohortDifference,    // the cohort differs from an earlier study's by fewer than the minimum
  kStudyBudget,         // the site's budget of studies or rounds over these variables is spent
  kDpRequired,          // the site releases weights only with differential privacy
  kDpBudgetExceeded,    // the release would take the site past its maximum epsilon
  kOuterProductTooFew,  // a second-moment matrix from fewer than dimension x minimum patients
  kUndeclaredRelease,   // the task produced something it did not declare
  kNotFinite,           // a released number is NaN or infinite
  kNoData,              // the site has no data of the kind the task needs
  kPrecondition,        // another precondition failed at the site
  kNotFound,            // something the task refers to does not exist at the site
  kOutOfMemory,         // the site ran out of memory
  kTaskError,           // any other error
};

// "below_minimum_count", ...
absl::string_view FailureCodeName(FailureCode code);
std::optional<FailureCode> ParseFailureCode(absl::string_view name);

// `status` with `code` and `numbers` attached (a payload; the message is unchanged).
// Number names are lower-case identifiers ("min", "budget").
absl::Status WithFailureCode(absl::Status status, FailureCode code,
                             const std::map<std::string, int64_t>& numbers = {});

// The code attached to `status`, or the one its absl code maps to.
FailureCode FailureCodeOf(const absl::Status& status);

// What leaves the node: "<code>[ <name>=<integer>]*".
std::string FailureReportOf(const absl::Status& status);

// Whether `report` is a code of the vocabulary followed by named integers, and nothing else.
bool IsFailureReport(absl::string_view report);

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_FAILURE_CODE_H_
