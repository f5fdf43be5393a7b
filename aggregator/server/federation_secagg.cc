// Federation: secure aggregation (federation.h, SecAgg; the sessions in secagg_rounds.h) of
// training rounds and of the analyses whose answers are sums (protocol/wire/secure_sum.h).
// A training round's masked uploads are folded by RingSumStrategy like any streamed round; an
// analysis round's (a few hundred values each) are summed at its close. The round closes in two
// steps: when its results are in (or its deadline passed) masking closes and the unmask phase
// opens; when the survivors have answered, the masks come off the ring sum. A training round's
// next model is then the round's model plus the sum of num_samples x update divided by the total
// of num_samples (FedAvg), or, under distributed DP, plus the sum of the sites' clipped and
// noised updates divided by the number of sites in it (privacy/dp/distributed_dp.h); an analysis
// round is closed by its logic from the sum (StudyLogic::CloseSecureRound).
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "aggregator/server/federation.h"
#include "core/status_macros.h"
#include "privacy/dp/distributed_dp.h"
#include "protocol/study_kind.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::aggregator {

absl::StatusOr<std::optional<SecAggSettings>> Federation::SecAggOf(const StudyRecord& study,
                                                                   uint32_t round,
                                                                   const StudyLogic& logic) const {
  // An analysis's every round (CreateStudy checked that its kind sums its answers); a training
  // study's rounds but the initial model and the final evaluation.
  if (study.spec.kind() == v1::STUDY_KIND_TRAINING &&
      (round == 0 || logic.IsInitRound(round) || round > study.spec.rounds())) {
    return std::optional<SecAggSettings>();
  }
  return ParseSecAggSettings(study.spec.privacy_json(), study.spec.sites_size());
}

bool Federation::SecureTask(const StudyRecord& study, const TaskRecord& task) {
  return task.kind == (study.spec.kind() == v1::STUDY_KIND_TRAINING ? v1::TASK_KIND_TRAIN
                                                                    : v1::TASK_KIND_ANALYZE);
}

absl::StatusOr<protocol::TensorSet> Federation::SecureSumRingLayout(
    const StudyRecord& study, const std::string& checkpoint_id) {
  std::optional<protocol::TensorSet> input;
  if (!checkpoint_id.empty()) {
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<const EncodedCheckpoint> encoded,
                         CachedCheckpoint(checkpoint_id));
    SCV_ASSIGN_OR_RETURN(input, encoded->Decode());
  }
  SCV_ASSIGN_OR_RETURN(const protocol::StudyKind kind, protocol::StudyKindOf(study.spec));
  SCV_ASSIGN_OR_RETURN(const uint64_t length, wire::SecureSumLength(kind, study.spec.spec_json(),
                                                                    input ? &*input : nullptr));
  return RingLayout(wire::SecureSumLayout(length));
}

absl::Status Federation::OpenSecAgg(const StudyRecord& study, const TaskRecord& task,
                                    const SecAggSettings& settings) {
  if (secagg_.Active(study.study_id, task.round)) return absl::OkStatus();
  SCV_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                       store_->ListTasks(study.study_id, task.round));
  std::vector<std::string> participants;
  for (const TaskRecord& t : tasks) {
    // Not a site whose task already ended without a masked input (a refusal, a failure).
    if (SecureTask(study, t) && !t.site_id.empty() && t.state != kTaskDone &&
        t.state != kTaskFailed) {
      participants.push_back(t.site_id);
    }
  }
  uint64_t length = 0;
  if (task.kind == v1::TASK_KIND_TRAIN) {
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<const EncodedCheckpoint> input,
                         CachedCheckpoint(task.checkpoint_id));
    length = ElementCount(input->Manifest(0));
  } else {
    SCV_ASSIGN_OR_RETURN(const protocol::TensorSet layout,
                         SecureSumRingLayout(study, task.checkpoint_id));
    length = RingVector(layout).size();
  }
  secagg_.Open(study.study_id, task.round, std::move(participants), settings, length,
               options_.clock->Now());
  return absl::OkStatus();
}

absl::StatusOr<v1::SecAggResponse> Federation::SecAgg(const Caller& caller,
                                                      const v1::SecAggRequest& request) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireSite(caller));
  SCV_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(request.task_id()));
  std::optional<StudyRecord> study;
  if (task && task->site_id == caller.id) {
    SCV_ASSIGN_OR_RETURN(study, store_->GetStudy(task->study_id));
  }
  if (!study || !SecureTask(*study, *task)) {
    return absl::NotFoundError(absl::StrCat("secagg: task '", request.task_id(),
                                            "' is not a task of site '", caller.id,
                                            "' whose result is summed"));
  }
  if (!study || study->state != v1::STUDY_STATE_RUNNING || task->round != study->current_round) {
    v1::SecAggResponse stop;
    stop.mutable_stop()->set_reason("secure aggregation: the task's round is over");
    return stop;
  }
  SCV_ASSIGN_OR_RETURN(const StudyLogic* logic, LogicFor(*study));
  SCV_ASSIGN_OR_RETURN(std::optional<SecAggSettings> settings,
                       SecAggOf(*study, task->round, *logic));
  if (!settings) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: study '", study->study_id,
                                                      "' round ", task->round,
                                                      " is not securely aggregated"));
  }
  SCV_RETURN_IF_ERROR(OpenSecAgg(*study, *task, *settings));
  const absl::Time now = options_.clock->Now();
  absl::StatusOr<v1::SecAggResponse> response = secagg_.Handle(
      study->study_id, task->round, caller.id, caller.certificate_pem, request, now, options_.wait);
  if (!response.ok()) {
    spdlog::warn("secagg: refused a message of site '{}': {}", caller.id,
                 std::string(response.status().message()));
    Audit(caller, "secagg_refused", study->study_id, caller.id, {task->task_id},
          std::string(response.status().message()));
    return response.status();
  }
  if (request.phase() == v1::SECAGG_UNMASK) {
    // The last answer may complete the round.
    SCV_ASSIGN_OR_RETURN(std::vector<RoundRecord> rounds, store_->ListRounds(study->study_id));
    const bool passed = !rounds.empty() && rounds.back().deadline_unix != 0 &&
                        NowUnix() >= rounds.back().deadline_unix;
    SCV_RETURN_IF_ERROR(store_->InTransaction([&] { return MaybeCloseRound(*study, passed); }));
    FlushPrunedFiles();
    Changed();
  }
  return response;
}

absl::StatusOr<bool> Federation::SecAggReadyToClose(const StudyRecord& study, uint32_t round) {
  const absl::Time now = options_.clock->Now();
  absl::Status masked = secagg_.CloseMasking(study.study_id, round, now);
  if (!masked.ok()) return masked;
  return secagg_.ReadyToFinish(study.study_id, round, now);
}

absl::StatusOr<protocol::TensorSet> Federation::UnmaskedModel(
    const StudyRecord& study, uint32_t round, const std::vector<ResultRecord>& results,
    const protocol::TensorSet& input, const protocol::TensorSet& ring_sum) {
  SCV_ASSIGN_OR_RETURN(privacy::secagg::SecAggResult sum,
                       secagg_.Finish(study.study_id, round, RingVector(ring_sum)));
  // What the sum is divided by: the total of num_samples (FedAvg), or the number of sites in it
  // when each site's update weighs 1 (distributed DP, privacy/dp/distributed_dp.h).
  SCV_ASSIGN_OR_RETURN(const std::optional<privacy::dp::DpSpec> dp,
                       privacy::dp::DpSpecOfOptions(study.spec.privacy_json()));
  double total = 0;
  if (privacy::dp::SumWeightingFor(dp) == privacy::dp::SumWeighting::kUnit) {
    total = static_cast<double>(sum.included.size());
  } else {
    for (const ResultRecord& r : results) total += static_cast<double>(r.num_samples);
  }
  if (total <= 0 || sum.included.size() != results.size()) {
    return absl::InternalError(absl::StrCat("secagg: ", sum.included.size(), " inputs unmasked, ",
                                            results.size(), " results accepted"));
  }
  protocol::TensorSet next;
  size_t at = 0;
  for (const protocol::Tensor& t : input.tensors()) {
    std::vector<double> values = protocol::ToDoubles(t);
    for (double& v : values) v += sum.sum[at++] / total;
    SCV_RETURN_IF_ERROR(next.Add(protocol::FromDoubles(t.name, t.shape, t.dtype, values)));
  }
  spdlog::info("study '{}': round {}: secure aggregation of {} sites ({} dropped)", study.study_id,
               round, sum.included.size(), sum.dropped.size());
  secagg_.Forget(study.study_id);
  return next;
}

absl::Status Federation::ValidateMaskedAnswer(const StudyRecord& study, const TaskRecord& task,
                                              const StudyLogic& logic,
                                              const v1::UploadHeader& header,
                                              const ReceivedWeights& received,
                                              const EncodedCheckpoint* input) {
  const std::string where = absl::StrCat("task '", task.task_id, "'");
  SCV_ASSIGN_OR_RETURN(const protocol::TensorSet layout,
                       SecureSumRingLayout(study, task.checkpoint_id));
  // A few hundred values: read whole. Only the layout can be checked (the masks make every
  // value look random), the clear part by the study's logic.
  std::optional<protocol::TensorSet> masked = received.in_memory;
  if (received.spooled) {
    SCV_ASSIGN_OR_RETURN(masked, LoadSpooled(*received.spooled));
  }
  if (!masked) return absl::InternalError(where + ": no masked vector");
  SCV_RETURN_IF_ERROR(Annotate(masked->CheckSameLayout(layout), where));
  std::optional<protocol::TensorSet> input_set;
  if (input != nullptr) {
    SCV_ASSIGN_OR_RETURN(input_set, input->Decode());
  }
  SCV_RETURN_IF_ERROR(Annotate(
      logic.ValidateResult(task, header, &*masked, input_set ? &*input_set : nullptr), where));
  return secagg_.CheckMaskedInput(study.study_id, task.round, task.site_id);
}

absl::StatusOr<RoundOutcome> Federation::CloseSecureAnalysis(
    const StudyRecord& study, uint32_t round, const StudyLogic& logic,
    const protocol::TensorSet* input, std::vector<ResultRecord> results,
    const std::vector<RoundRecord>& history) {
  // The masked vectors (their layout was checked at upload) summed in the ring; the refusals
  // sent in clear carry none.
  std::vector<uint64_t> ring;
  for (ResultRecord& r : results) {
    if (!r.weights) continue;
    const std::vector<uint64_t> masked = RingVector(*r.weights);
    if (ring.empty()) ring.assign(masked.size(), 0);
    if (masked.size() != ring.size()) {
      return absl::DataLossError(
          absl::StrCat("secagg: the masked vector of task '", r.task_id, "' has another length"));
    }
    for (size_t i = 0; i < ring.size(); ++i) ring[i] += masked[i];  // mod 2^64
    r.weights.reset();
  }
  absl::StatusOr<privacy::secagg::SecAggResult> sum =
      secagg_.Finish(study.study_id, round, std::move(ring));
  secagg_.Forget(study.study_id);
  if (!sum.ok()) return sum.status();
  spdlog::info("study '{}': round {}: secure aggregation of {} sites ({} dropped)", study.study_id,
               round, sum->included.size(), sum->dropped.size());
  return logic.CloseSecureRound(study, round, input, results, sum->sum, sum->included.size(),
                                history);
}

}  // namespace scancov::aggregator
