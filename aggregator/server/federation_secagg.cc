// Federation: secure aggregation of training rounds (federation.h, SecAgg; the sessions in
// secagg_rounds.h). The masked uploads are folded by RingSumStrategy like any streamed round;
// the round closes in two steps: when its results are in (or its deadline passed) masking
// closes and the unmask phase opens; when the survivors have answered, the masks come off the
// ring sum and the next model is the round's model plus the sum of num_samples x update divided
// by the total of num_samples (FedAvg).
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "aggregator/server/federation.h"
#include "core/status_macros.h"

namespace scancov::aggregator {

absl::StatusOr<std::optional<SecAggSettings>> Federation::SecAggOf(const StudyRecord& study,
                                                                   uint32_t round,
                                                                   const StudyLogic& logic) const {
  if (round == 0 || logic.IsInitRound(round) || round > study.spec.rounds()) {
    return std::optional<SecAggSettings>();  // the initial model and the final evaluation
  }
  return ParseSecAggSettings(study.spec.privacy_json(), study.spec.sites_size());
}

absl::Status Federation::OpenSecAgg(const StudyRecord& study, const TaskRecord& task,
                                    const SecAggSettings& settings) {
  if (secagg_.Active(study.study_id, task.round)) return absl::OkStatus();
  SCV_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                       store_->ListTasks(study.study_id, task.round));
  std::vector<std::string> participants;
  for (const TaskRecord& t : tasks) {
    if (t.kind == v1::TASK_KIND_TRAIN && !t.site_id.empty()) participants.push_back(t.site_id);
  }
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<const EncodedCheckpoint> input,
                       CachedCheckpoint(task.checkpoint_id));
  secagg_.Open(study.study_id, task.round, std::move(participants), settings,
               ElementCount(input->Manifest(0)), options_.clock->Now());
  return absl::OkStatus();
}

absl::StatusOr<v1::SecAggResponse> Federation::SecAgg(const Caller& caller,
                                                      const v1::SecAggRequest& request) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireSite(caller));
  SCV_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(request.task_id()));
  if (!task || task->site_id != caller.id || task->kind != v1::TASK_KIND_TRAIN) {
    return absl::NotFoundError(absl::StrCat("secagg: task '", request.task_id(),
                                            "' is not a training task of site '", caller.id, "'"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> study, store_->GetStudy(task->study_id));
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
  double total = 0;
  for (const ResultRecord& r : results) total += static_cast<double>(r.num_samples);
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

}  // namespace scancov::aggregator
