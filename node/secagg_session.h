// The node's checks and conversions around one round of secure aggregation (privacy/secagg),
// with no transport: what a task's study asked for, whether the aggregator's session honours
// it, the vector a site masks, and the masked vector as the tensors it is uploaded in.
// node/secagg_step.h drives the protocol with them.
//
// The vector (the contract with the aggregator, protocol/scancov.proto SecAggSession): the round
// model's tensors in TensorSet order, each flattened row-major, element = w x (trained - global),
// w = num_samples (FedAvg: the sum divided by the total sample count is the FedAvg update), or
// w = 1 in a study with distributed DP (privacy/dp/distributed_dp.h: the sum divided by the
// number of sites in it). The masked vector travels as a TensorSet with the global model's names
// and shapes, in order, dtype int64, holding the ring elements (uint64 bits read as int64).
//
// All functions are thread-safe (no shared state). Errors never carry a weight's value.
#ifndef SCANCOV_NODE_SECAGG_SESSION_H_
#define SCANCOV_NODE_SECAGG_SESSION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "privacy/secagg/config.h"
#include "privacy/secagg/study_options.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::node {

// The study's secure-aggregation options (Task.privacy_json "secure_aggregation",
// privacy/secagg/study_options.h). The steward approved these; the aggregator's session must
// carry exactly the same.
using SecAggSettings = privacy::secagg::StudyOptions;

// Who this site is in a session. The key is secret: never log or send it.
struct SecAggIdentity {
  std::string site_id;
  std::string key_pem;      // the private key of the site's certificate
  std::string ca_cert_pem;  // the consortium CA, against which participants are verified
  // The consortium's revocation list (sites/pki/revocation_checker.h): OK when a certificate
  // (PEM) is not revoked. Null: participants are not checked for revocation.
  std::function<absl::Status(absl::string_view certificate_pem)> check_revocation;
};

// The task's secure-aggregation options: nullopt when its study asks for none, and for the
// ANALYZE tasks of a training study (its final evaluation's metrics leave in clear). The TRAIN
// tasks of a training study mask their update; the ANALYZE tasks of an analysis whose kind sums
// its answers (protocol/wire/secure_sum.h) mask the answer's numbers. InvalidArgument with
// failure code invalid_spec for an analysis whose answers are not sums (never sent in clear when
// the steward approved secure aggregation), a block that is not an object, an unknown key, a
// missing threshold or a value out of range. Absent optional keys take SecAggSettings' defaults.
absl::StatusOr<std::optional<SecAggSettings>> TaskSecAggSettings(const v1::Task& task);

// What a released result sends under secure aggregation: the vector masked, the layout of the
// masked tensors (names and shapes; sent as int64 ring elements) and the header sent in clear.
struct SecAggPayload {
  std::vector<double> vector;
  protocol::TensorSet layout;
  v1::UploadHeader header;
  bool in_clear = false;  // an analysis's refusal: no numbers, sent as released, no session
};
// For a TRAIN task: SecAggVector of the trained `weights` against `global`, in `global`'s layout,
// weighted by the study's SumWeighting (num_samples, or 1 under distributed DP), the header
// unchanged (num_samples still reported, weighing nothing under distributed DP). For an ANALYZE
// task: the answer (header.result_json) split by its kind (wire::SplitForSecureSum), the header
// carrying only the clear part (num_samples 0, no metrics: per-site numbers beside the sum).
// FailedPrecondition when a TRAIN task has no global model or no weights; the split's errors
// otherwise.
absl::StatusOr<SecAggPayload> SecAggPayloadOf(const v1::Task& task,
                                              const protocol::TensorSet* global,
                                              const v1::UploadHeader& header,
                                              const std::optional<protocol::TensorSet>& weights);

// Elements in all tensors of `set`.
uint64_t TotalElements(const protocol::TensorSet& set);

// The site's vector: weight x (trained - global), tensor by tensor in `global`'s order.
// FailedPrecondition when `trained` does not have `global`'s layout (names, order, shapes,
// dtypes) or weight is not finite and > 0 (a site without samples).
absl::StatusOr<std::vector<double>> SecAggVector(const protocol::TensorSet& global,
                                                 const protocol::TensorSet& trained, double weight);

// The masked ring vector as the int64 tensors it is uploaded in (`global`'s names and shapes).
// InvalidArgument when its length is not TotalElements(global).
absl::StatusOr<protocol::TensorSet> MaskedTensors(const protocol::TensorSet& global,
                                                  absl::Span<const uint64_t> masked);
// The inverse (the aggregator's reading; tests): the ring elements of an int64 TensorSet.
absl::StatusOr<std::vector<uint64_t>> RingElements(const protocol::TensorSet& masked);

// Whether `session` is one this site may join for `task`: the task's study and round; exactly
// the study's settings (an aggregator may not weaken what the steward approved: a lower
// threshold, coarser or wider fixed point, smaller neighbourhoods); `vector_length` elements;
// the site itself among participants with distinct ids; every participant's certificate issued
// by the consortium CA, valid at `now`, not revoked (me.check_revocation), a site certificate
// whose CN is its site id.
// PermissionDenied "secure aggregation, task '<id>': <why>" otherwise.
absl::Status CheckSession(const v1::SecAggSession& session, const v1::Task& task,
                          const SecAggSettings& settings, uint64_t vector_length,
                          const SecAggIdentity& me, absl::Time now);

// The secagg config every participant holds, from a checked session: sites in the session's
// order, max_summands = the number of participants.
privacy::secagg::SecAggConfig ConfigFromSession(const v1::SecAggSession& session);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_SECAGG_SESSION_H_
