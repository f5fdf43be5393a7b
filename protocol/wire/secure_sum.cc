// The analysis kinds that secure aggregation can sum (secure_sum.h).
#include "protocol/wire/secure_sum.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::wire {
namespace {

absl::Status NotSummed(protocol::StudyKind kind) {
  return absl::UnimplementedError(absl::StrCat("the answers of a ", protocol::StudyKindName(kind),
                                               " study cannot be securely aggregated"));
}

// A logistic_regression round: its coefficients' count and its checkpoint.
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

}  // namespace

bool SumsAnswers(protocol::StudyKind kind) {
  return kind == protocol::StudyKind::logistic_regression;
}

absl::StatusOr<uint64_t> SecureSumLength(protocol::StudyKind kind, const std::string& spec_json,
                                         const protocol::TensorSet* checkpoint) {
  if (kind != protocol::StudyKind::logistic_regression) return NotSummed(kind);
  SCV_ASSIGN_OR_RETURN(const LogisticRound r, ReadLogisticRound(spec_json, checkpoint));
  return LogisticSumLength(r.asked, r.terms);
}

absl::Status CheckSecureSumResolution(protocol::StudyKind kind, const std::string& spec_json,
                                      int fractional_bits) {
  if (kind != protocol::StudyKind::logistic_regression) return NotSummed(kind);
  SCV_ASSIGN_OR_RETURN(const LogisticSpec spec, ParseLogisticSpec(spec_json));
  int needed = 0;
  while (needed < 62 && std::ldexp(1.0, -needed) > spec.tolerance / 2) ++needed;
  if (fractional_bits < needed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.secure_aggregation.fractional_bits must be at least ", needed,
        " for this logistic regression (the sums' resolution 2^-bits at most half its tolerance ",
        spec.tolerance, "), not ", fractional_bits));
  }
  return absl::OkStatus();
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
  if (kind != protocol::StudyKind::logistic_regression) return NotSummed(kind);
  SCV_ASSIGN_OR_RETURN(const LogisticRound r, ReadLogisticRound(spec_json, checkpoint));
  SCV_ASSIGN_OR_RETURN(const LogisticSiteAnswer answer, ParseLogisticSiteAnswer(answer_json));
  SecureSumAnswer out;
  if (answer.refused) {
    out.refused = true;
    out.clear_json = answer_json;
    return out;
  }
  SCV_ASSIGN_OR_RETURN(out.values, LogisticSumVector(answer, r.asked, r.terms));
  out.clear_json = ToJson(ClearPart(answer));
  return out;
}

}  // namespace scancov::wire
