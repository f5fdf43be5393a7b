#include "node/secagg_session.h"

#include <cmath>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "privacy/dp/distributed_dp.h"
#include "protocol/failure_code.h"
#include "protocol/study_kind.h"
#include "protocol/wire/secure_sum.h"
#include "sites/pki/verify.h"

namespace scancov::node {
namespace {

using protocol::Tensor;
using protocol::TensorSet;

absl::Status InvalidSpec(const v1::Task& task, absl::string_view why) {
  return protocol::WithFailureCode(
      absl::InvalidArgumentError(
          absl::StrCat("task '", task.task_id(), "': privacy.secure_aggregation: ", why)),
      protocol::FailureCode::kInvalidSpec);
}

absl::Status Refuse(const v1::Task& task, absl::string_view why) {
  return absl::PermissionDeniedError(
      absl::StrCat("secure aggregation, task '", task.task_id(), "': ", why));
}

template <typename A, typename B>
absl::Status CheckEqual(const v1::Task& task, const char* what, const A& session, const B& study) {
  if (session == study) return absl::OkStatus();
  return Refuse(task, absl::StrCat("the session's ", what, " ", session, " is not the study's ",
                                   study, " (refused: the aggregator may not change it)"));
}

absl::Status CheckParticipants(const v1::SecAggSession& session, const v1::Task& task,
                               const SecAggIdentity& me, absl::Time now) {
  std::set<std::string> seen;
  for (const v1::SecAggParticipant& p : session.participants()) {
    if (!seen.insert(p.site_id()).second) {
      return Refuse(task, absl::StrCat("participant '", p.site_id(), "' is listed twice"));
    }
    absl::StatusOr<sites::PeerIdentity> who =
        sites::VerifyCertificate(p.certificate_pem(), me.ca_cert_pem, now);
    if (!who.ok()) {
      return Refuse(task, absl::StrCat("participant '", p.site_id(),
                                       "': certificate refused: ", who.status().message()));
    }
    absl::Status revoked =
        me.check_revocation ? me.check_revocation(p.certificate_pem()) : absl::OkStatus();
    if (!revoked.ok()) {
      return Refuse(task, absl::StrCat("participant '", p.site_id(),
                                       "': certificate refused: ", revoked.message()));
    }
    if (who->role != sites::Role::kSite || who->id != p.site_id()) {
      return Refuse(task, absl::StrCat("participant '", p.site_id(), "': the certificate names ",
                                       sites::ToString(*who)));
    }
  }
  if (seen.count(me.site_id) == 0) {
    return Refuse(task, absl::StrCat("this site ('", me.site_id, "') is not a participant"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<SecAggSettings>> TaskSecAggSettings(const v1::Task& task) {
  const bool analyze = task.kind() == v1::TASK_KIND_ANALYZE;
  if ((task.kind() != v1::TASK_KIND_TRAIN && !analyze) || task.privacy_json().empty()) {
    return std::optional<SecAggSettings>();
  }
  const nlohmann::json options = nlohmann::json::parse(task.privacy_json(), nullptr, false);
  if (!options.is_object()) return InvalidSpec(task, "privacy_json is not a JSON object");
  if (!options.contains("secure_aggregation")) return std::optional<SecAggSettings>();
  if (analyze) {
    absl::StatusOr<protocol::StudyKind> kind = protocol::StudyKindOf(task);
    if (!kind.ok()) return InvalidSpec(task, kind.status().message());
    if (protocol::InfoOf(*kind).family == v1::STUDY_KIND_TRAINING) {
      return std::optional<SecAggSettings>();  // the final evaluation
    }
    if (!wire::SumsAnswers(*kind)) {
      return InvalidSpec(task, absl::StrCat("the answers of a ", protocol::StudyKindName(*kind),
                                            " study cannot be securely aggregated"));
    }
  }
  absl::StatusOr<SecAggSettings> settings =
      privacy::secagg::ParseStudyOptions(options.at("secure_aggregation"));
  if (!settings.ok()) return InvalidSpec(task, settings.status().message());
  return std::optional<SecAggSettings>(*settings);
}

uint64_t TotalElements(const TensorSet& set) {
  uint64_t n = 0;
  for (const Tensor& t : set.tensors()) n += static_cast<uint64_t>(t.NumElements());
  return n;
}

absl::StatusOr<std::vector<double>> SecAggVector(const TensorSet& global, const TensorSet& trained,
                                                 double weight) {
  absl::Status layout = global.CheckSameLayout(trained);
  if (!layout.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "secure aggregation: the trained weights do not have the global model's layout: ",
        layout.message()));
  }
  if (!(weight > 0.0 && std::isfinite(weight))) {
    return absl::FailedPreconditionError(
        "secure aggregation: the update has no weight (no samples)");
  }
  const double n = weight;
  std::vector<double> x;
  x.reserve(TotalElements(global));
  for (size_t i = 0; i < global.size(); ++i) {
    const std::vector<double> g = protocol::ToDoubles(global.tensors()[i]);
    const std::vector<double> t = protocol::ToDoubles(trained.tensors()[i]);
    for (size_t j = 0; j < g.size(); ++j) x.push_back(n * (t[j] - g[j]));
  }
  return x;
}

absl::StatusOr<SecAggPayload> SecAggPayloadOf(const v1::Task& task, const TensorSet* global,
                                              const v1::UploadHeader& header,
                                              const std::optional<TensorSet>& weights) {
  SecAggPayload p;
  p.header = header;
  if (task.kind() == v1::TASK_KIND_TRAIN) {
    if (global == nullptr || !weights) {
      return absl::FailedPreconditionError(absl::StrCat(
          "secure aggregation, task '", task.task_id(), "': ",
          global == nullptr ? "the task has no global model" : "the release carries no weights"));
    }
    // FedAvg weighs a site by its samples; distributed DP by 1, so that every site's clipped
    // update has the same sensitivity and the sum's noise covers each (distributed_dp.h).
    absl::StatusOr<std::optional<privacy::dp::DpSpec>> dp =
        privacy::dp::DpSpecOfOptions(task.privacy_json());
    if (!dp.ok()) {
      return absl::Status(
          dp.status().code(),
          absl::StrCat("secure aggregation, task '", task.task_id(), "': ", dp.status().message()));
    }
    const double weight = privacy::dp::SumWeightingFor(*dp) == privacy::dp::SumWeighting::kUnit
                              ? 1.0
                              : static_cast<double>(header.num_samples());
    SCV_ASSIGN_OR_RETURN(p.vector, SecAggVector(*global, *weights, weight));
    p.layout = *global;
    return p;
  }
  SCV_ASSIGN_OR_RETURN(const protocol::StudyKind kind, protocol::StudyKindOf(task));
  absl::StatusOr<wire::SecureSumAnswer> split =
      wire::SplitForSecureSum(kind, task.spec_json(), global, header.result_json());
  if (!split.ok()) {
    return absl::Status(split.status().code(),
                        absl::StrCat("secure aggregation, task '", task.task_id(),
                                     "': ", split.status().message()));
  }
  p.in_clear = split->refused;
  if (!p.in_clear) {
    // The site's row count and any metric would be per-site numbers in clear beside the sum.
    p.header.set_num_samples(0);
    p.header.clear_metrics();
  }
  p.header.set_result_json(split->clear_json);
  p.vector = std::move(split->values);
  p.layout = wire::SecureSumLayout(p.vector.size());
  return p;
}

absl::StatusOr<TensorSet> MaskedTensors(const TensorSet& global,
                                        absl::Span<const uint64_t> masked) {
  if (masked.size() != TotalElements(global)) {
    return absl::InvalidArgumentError(absl::StrCat("secure aggregation: the masked vector has ",
                                                   masked.size(), " elements, the global model ",
                                                   TotalElements(global)));
  }
  TensorSet out;
  size_t at = 0;
  for (const Tensor& g : global.tensors()) {
    Tensor t{g.name, g.shape, protocol::DType::kInt64, std::string()};
    t.bytes.resize(static_cast<size_t>(g.NumElements()) * 8);
    for (size_t j = 0; j < static_cast<size_t>(g.NumElements()); ++j, ++at) {
      for (int b = 0; b < 8; ++b) {  // little-endian, whatever the host
        t.bytes[j * 8 + b] = static_cast<char>((masked[at] >> (8 * b)) & 0xff);
      }
    }
    SCV_RETURN_IF_ERROR(out.Add(std::move(t)));
  }
  return out;
}

absl::StatusOr<std::vector<uint64_t>> RingElements(const TensorSet& masked) {
  std::vector<uint64_t> ring;
  ring.reserve(TotalElements(masked));
  for (const Tensor& t : masked.tensors()) {
    if (t.dtype != protocol::DType::kInt64) {
      return absl::InvalidArgumentError(
          absl::StrCat("secure aggregation: tensor '", t.name, "' is not int64"));
    }
    for (size_t j = 0; j < t.bytes.size(); j += 8) {
      uint64_t v = 0;
      for (int b = 0; b < 8; ++b) v |= uint64_t{static_cast<uint8_t>(t.bytes[j + b])} << (8 * b);
      ring.push_back(v);
    }
  }
  return ring;
}

absl::Status CheckSession(const v1::SecAggSession& session, const v1::Task& task,
                          const SecAggSettings& settings, uint64_t vector_length,
                          const SecAggIdentity& me, absl::Time now) {
  SCV_RETURN_IF_ERROR(CheckEqual(task, "study", session.study_id(), task.study_id()));
  SCV_RETURN_IF_ERROR(CheckEqual(task, "round", session.round(), task.round()));
  SCV_RETURN_IF_ERROR(
      CheckEqual(task, "threshold", static_cast<int64_t>(session.threshold()), settings.threshold));
  SCV_RETURN_IF_ERROR(CheckEqual(task, "fractional_bits",
                                 static_cast<int64_t>(session.fractional_bits()),
                                 settings.fractional_bits));
  SCV_RETURN_IF_ERROR(
      CheckEqual(task, "max_abs_value", session.max_abs_value(), settings.max_abs_value));
  SCV_RETURN_IF_ERROR(CheckEqual(task, "neighbours", static_cast<int64_t>(session.neighbours()),
                                 settings.neighbours));
  SCV_RETURN_IF_ERROR(CheckEqual(task, "vector_length", session.vector_length(), vector_length));
  return CheckParticipants(session, task, me, now);
}

privacy::secagg::SecAggConfig ConfigFromSession(const v1::SecAggSession& session) {
  privacy::secagg::SecAggConfig config;
  config.study_id = session.study_id();
  config.round = session.round();
  for (const v1::SecAggParticipant& p : session.participants()) {
    config.sites.push_back({p.site_id(), p.certificate_pem()});
  }
  config.threshold = static_cast<int>(session.threshold());
  config.vector_length = static_cast<size_t>(session.vector_length());
  config.fixed_point.fractional_bits = static_cast<int>(session.fractional_bits());
  config.fixed_point.max_abs_value = session.max_abs_value();
  config.fixed_point.max_summands = session.participants_size();
  config.neighbours = static_cast<int>(session.neighbours());
  config.graph_seed = session.graph_seed();
  return config;
}

}  // namespace scancov::node
