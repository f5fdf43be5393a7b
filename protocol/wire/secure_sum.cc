// The analysis kinds that secure aggregation can sum (secure_sum.h): one entry per kind, each
// naming its vector's length, the resolution its analysis needs and the site's split of its
// answer. The vectors themselves are defined in the kinds' wire modules.
#include "protocol/wire/secure_sum.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "protocol/wire/intercept_calibration.h"
#include "protocol/wire/logistic_regression.h"
#include "protocol/wire/model_selection.h"

namespace scancov::wire {
namespace {

// A kind whose answers are sums. `checkpoint` null: the round has no input (round 0).
struct SummedKind {
  protocol::StudyKind kind;
  absl::StatusOr<uint64_t> (*length)(const std::string& spec_json,
                                     const protocol::TensorSet* checkpoint);
  absl::Status (*check_resolution)(const std::string& spec_json, int fractional_bits);
  absl::StatusOr<SecureSumAnswer> (*split)(const std::string& spec_json,
                                           const protocol::TensorSet* checkpoint,
                                           const std::string& answer_json);
};

// Newton steps that stop at `tolerance` need the sums finer than half of it.
absl::Status CheckNewtonResolution(double tolerance, const char* analysis, int fractional_bits) {
  int needed = 0;
  while (needed < 62 && std::ldexp(1.0, -needed) > tolerance / 2) ++needed;
  if (fractional_bits >= needed) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("privacy.secure_aggregation.fractional_bits must be at least ", needed,
                   " for this ", analysis, " (the sums' resolution 2^-bits at most half its ",
                   "tolerance ", tolerance, "), not ", fractional_bits));
}

// An answer the site refused: sent in clear, as it is, with no vector.
SecureSumAnswer InClear(const std::string& answer_json) {
  SecureSumAnswer out;
  out.refused = true;
  out.clear_json = answer_json;
  return out;
}

// logistic_regression (logistic_regression.h: LogisticSumVector).
struct LogisticRound {
  size_t terms = 0;
  LogisticCheckpoint asked;
};

absl::StatusOr<LogisticRound> ReadLogisticRound(const std::string& spec_json,
                                                const protocol::TensorSet* checkpoint) {
  SCV_ASSIGN_OR_RETURN(const LogisticSpec spec, ParseLogisticSpec(spec_json));
  LogisticRound r;
  r.terms = LogisticTerms(spec).size();
  SCV_ASSIGN_OR_RETURN(r.asked, ParseLogisticCheckpoint(checkpoint, r.terms));
  return r;
}

absl::StatusOr<uint64_t> LogisticLength(const std::string& spec_json,
                                        const protocol::TensorSet* checkpoint) {
  SCV_ASSIGN_OR_RETURN(const LogisticRound r, ReadLogisticRound(spec_json, checkpoint));
  return LogisticSumLength(r.asked, r.terms);
}

absl::Status LogisticResolution(const std::string& spec_json, int fractional_bits) {
  SCV_ASSIGN_OR_RETURN(const LogisticSpec spec, ParseLogisticSpec(spec_json));
  return CheckNewtonResolution(spec.tolerance, "logistic regression", fractional_bits);
}

absl::StatusOr<SecureSumAnswer> LogisticSplit(const std::string& spec_json,
                                              const protocol::TensorSet* checkpoint,
                                              const std::string& answer_json) {
  SCV_ASSIGN_OR_RETURN(const LogisticRound r, ReadLogisticRound(spec_json, checkpoint));
  SCV_ASSIGN_OR_RETURN(const LogisticSiteAnswer answer, ParseLogisticSiteAnswer(answer_json));
  if (answer.refused) return InClear(answer_json);
  SecureSumAnswer out;
  SCV_ASSIGN_OR_RETURN(out.values, LogisticSumVector(answer, r.asked, r.terms));
  out.clear_json = ToJson(ClearPart(answer));
  return out;
}

// intercept_calibration (intercept_calibration.h: InterceptSumVector). The calibrator's
// tolerance is its default (the study's spec does not set it).
absl::StatusOr<uint64_t> InterceptLength(const std::string& spec_json,
                                         const protocol::TensorSet* checkpoint) {
  SCV_RETURN_IF_ERROR(ParseInterceptSpec(spec_json).status());
  SCV_RETURN_IF_ERROR(ParseInterceptCheckpoint(checkpoint).status());
  return kInterceptSumLength;
}

absl::Status InterceptResolution(const std::string& spec_json, int fractional_bits) {
  SCV_RETURN_IF_ERROR(ParseInterceptSpec(spec_json).status());
  return CheckNewtonResolution(scores::InterceptCalibrationOptions{}.tolerance,
                               "intercept calibration", fractional_bits);
}

absl::StatusOr<SecureSumAnswer> InterceptSplit(const std::string& spec_json,
                                               const protocol::TensorSet* checkpoint,
                                               const std::string& answer_json) {
  SCV_RETURN_IF_ERROR(ParseInterceptSpec(spec_json).status());
  SCV_ASSIGN_OR_RETURN(const double asked, ParseInterceptCheckpoint(checkpoint));
  SCV_ASSIGN_OR_RETURN(const InterceptSiteAnswer answer, ParseInterceptSiteAnswer(answer_json));
  if (answer.refused) return InClear(answer_json);
  SecureSumAnswer out;
  SCV_ASSIGN_OR_RETURN(out.values, InterceptSumVector(answer, asked));
  out.clear_json = ToJson(ClearPart(answer));
  return out;
}

// model_selection (model_selection_answer.h: SelectionSumVector). The round's request is its
// checkpoint (none: the sums round).
struct SelectionRound {
  SelectionShape shape;
  scores::SelectionRequest asked;
};

absl::StatusOr<SelectionRound> ReadSelectionRound(const std::string& spec_json,
                                                  const protocol::TensorSet* checkpoint) {
  SCV_ASSIGN_OR_RETURN(const SelectionSpec spec, ParseSelectionSpec(spec_json));
  SelectionRound r;
  r.shape = ShapeOf(spec);
  SCV_ASSIGN_OR_RETURN(r.asked, RequestFromTensors(checkpoint, r.shape));
  return r;
}

absl::StatusOr<uint64_t> SelectionLength(const std::string& spec_json,
                                         const protocol::TensorSet* checkpoint) {
  SCV_ASSIGN_OR_RETURN(const SelectionRound r, ReadSelectionRound(spec_json, checkpoint));
  return SelectionSumLength(r.asked, r.shape);
}

// The fits' Newton steps stop at kSelectionFitTolerance; the largest round's vector is bounded.
absl::Status SelectionResolution(const std::string& spec_json, int fractional_bits) {
  SCV_ASSIGN_OR_RETURN(const SelectionSpec spec, ParseSelectionSpec(spec_json));
  const uint64_t largest = LargestSelectionSumLength(spec);
  if (largest > kMaxSelectionSumValues) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model selection: a site's largest round would send ", largest, " values masked (at most ",
        kMaxSelectionSumValues, "); fewer variables, penalties, folds or max_variables"));
  }
  return CheckNewtonResolution(scores::kSelectionFitTolerance, "model selection", fractional_bits);
}

absl::StatusOr<SecureSumAnswer> SelectionSplit(const std::string& spec_json,
                                               const protocol::TensorSet* checkpoint,
                                               const std::string& answer_json) {
  SCV_ASSIGN_OR_RETURN(const SelectionRound r, ReadSelectionRound(spec_json, checkpoint));
  SCV_ASSIGN_OR_RETURN(const SelectionSiteAnswer answer, ParseSelectionSiteAnswer(answer_json));
  if (answer.refused) return InClear(answer_json);
  if (answer.secure_sum) {
    return absl::InvalidArgumentError("secure sum: only an ok answer with its numbers is summed");
  }
  SecureSumAnswer out;
  SCV_ASSIGN_OR_RETURN(out.values, SelectionSumVector(answer.aggregates, r.asked, r.shape));
  out.clear_json = ToJson(ClearPart(answer));
  return out;
}

constexpr SummedKind kSummedKinds[] = {
    {protocol::StudyKind::logistic_regression, &LogisticLength, &LogisticResolution,
     &LogisticSplit},
    {protocol::StudyKind::intercept_calibration, &InterceptLength, &InterceptResolution,
     &InterceptSplit},
    {protocol::StudyKind::model_selection, &SelectionLength, &SelectionResolution, &SelectionSplit},
};

absl::StatusOr<const SummedKind*> Find(protocol::StudyKind kind) {
  for (const SummedKind& k : kSummedKinds) {
    if (k.kind == kind) return &k;
  }
  return absl::UnimplementedError(absl::StrCat("the answers of a ", protocol::StudyKindName(kind),
                                               " study cannot be securely aggregated"));
}

}  // namespace

bool SumsAnswers(protocol::StudyKind kind) { return Find(kind).ok(); }

std::string SummedKindNames() {
  std::vector<std::string> names;
  for (const SummedKind& k : kSummedKinds) names.emplace_back(protocol::StudyKindName(k.kind));
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<uint64_t> SecureSumLength(protocol::StudyKind kind, const std::string& spec_json,
                                         const protocol::TensorSet* checkpoint) {
  SCV_ASSIGN_OR_RETURN(const SummedKind* k, Find(kind));
  return k->length(spec_json, checkpoint);
}

absl::Status CheckSecureSumResolution(protocol::StudyKind kind, const std::string& spec_json,
                                      int fractional_bits) {
  SCV_ASSIGN_OR_RETURN(const SummedKind* k, Find(kind));
  return k->check_resolution(spec_json, fractional_bits);
}

absl::StatusOr<int64_t> CountFromSum(double value, absl::string_view name) {
  const double rounded = std::round(value);
  if (!std::isfinite(value) || rounded < 0 || rounded > 9.0e15 ||
      std::abs(value - rounded) > 1e-3) {
    return absl::InvalidArgumentError(absl::StrCat("secure sum: ", name, " is not a count"));
  }
  return static_cast<int64_t>(rounded);
}

protocol::TensorSet SecureSumLayout(uint64_t length) {
  protocol::TensorSet set;
  set.Add(protocol::FromDoubles(kSecureSumTensor, {static_cast<int64_t>(length)},
                                protocol::DType::kFloat64, std::vector<double>(length, 0.0)))
      .IgnoreError();  // one tensor, a valid name
  return set;
}

absl::StatusOr<SecureSumAnswer> SplitForSecureSum(protocol::StudyKind kind,
                                                  const std::string& spec_json,
                                                  const protocol::TensorSet* checkpoint,
                                                  const std::string& answer_json) {
  SCV_ASSIGN_OR_RETURN(const SummedKind* k, Find(kind));
  return k->split(spec_json, checkpoint, answer_json);
}

}  // namespace scancov::wire
