#include "protocol/failure_code.h"

#include <array>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/optional.h"

namespace scancov::protocol {
namespace {

constexpr char kPayloadUrl[] = "type.scancov/failure_report";

constexpr std::array<std::pair<FailureCode, const char*>, 19> kNames = {{
    {FailureCode::kNotApproved, "not_approved"},
    {FailureCode::kKindNotRun, "kind_not_run"},
    {FailureCode::kInvalidSpec, "invalid_spec"},
    {FailureCode::kVariableKeptBack, "variable_kept_back"},
    {FailureCode::kOutcomeNotDeclared, "outcome_not_declared"},
    {FailureCode::kWeightsNotAllowed, "weights_not_allowed"},
    {FailureCode::kBelowMinimumCount, "below_minimum_count"},
    {FailureCode::kCohortDifference, "cohort_difference"},
    {FailureCode::kStudyBudget, "study_budget"},
    {FailureCode::kDpRequired, "dp_required"},
    {FailureCode::kDpBudgetExceeded, "dp_budget_exceeded"},
    {FailureCode::kOuterProductTooFew, "outer_product_too_few"},
    {FailureCode::kUndeclaredRelease, "undeclared_release"},
    {FailureCode::kNotFinite, "not_finite"},
    {FailureCode::kNoData, "no_data"},
    {FailureCode::kPrecondition, "precondition"},
    {FailureCode::kNotFound, "not_found"},
    {FailureCode::kOutOfMemory, "out_of_memory"},
    {FailureCode::kTaskError, "task_error"},
}};

bool IsNumberName(absl::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return true;
}

FailureCode FromAbslCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return FailureCode::kInvalidSpec;
    case absl::StatusCode::kFailedPrecondition:
      return FailureCode::kPrecondition;
    case absl::StatusCode::kNotFound:
      return FailureCode::kNotFound;
    case absl::StatusCode::kUnimplemented:
      return FailureCode::kKindNotRun;
    case absl::StatusCode::kResourceExhausted:
      return FailureCode::kOutOfMemory;
    default:
      return FailureCode::kTaskError;
  }
}

}  // namespace

absl::string_view FailureCodeName(FailureCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "task_error";
}

std::optional<FailureCode> ParseFailureCode(absl::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (name == n) return c;
  }
  return std::nullopt;
}

absl::Status WithFailureCode(absl::Status status, FailureCode code,
                             const std::map<std::string, int64_t>& numbers) {
  std::string report(FailureCodeName(code));
  for (const auto& [name, value] : numbers) {
    if (IsNumberName(name)) absl::StrAppend(&report, " ", name, "=", value);
  }
  status.SetPayload(kPayloadUrl, absl::Cord(report));
  return status;
}

FailureCode FailureCodeOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (payload) {
    const std::string report(*payload);
    std::optional<FailureCode> code = ParseFailureCode(report.substr(0, report.find(' ')));
    if (code) return *code;
  }
  return FromAbslCode(status.code());
}

std::string FailureReportOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (payload) {
    std::string report(*payload);
    if (IsFailureReport(report)) return report;
  }
  return std::string(FailureCodeName(FromAbslCode(status.code())));
}

bool IsFailureReport(absl::string_view report) {
  if (report.size() > 200) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(report, ' ');
  if (!ParseFailureCode(parts[0])) return false;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::vector<absl::string_view> kv = absl::StrSplit(parts[i], absl::MaxSplits('=', 1));
    int64_t value = 0;
    if (kv.size() != 2 || !IsNumberName(kv[0]) || !absl::SimpleAtoi(kv[1], &value)) return false;
  }
  return true;
}

}  // namespace scancov::protocol
