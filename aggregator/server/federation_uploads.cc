// Federation: a site's results arriving (federation.h). Uploads are authorised from their header
// before any weights are read; weights arrive spooled to files (upload_spool.h) or, from
// in-process clients, in memory. The submission of a result (claim under the lock, fold without
// it, record) is in federation_submit.cc.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "aggregator/server/federation.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "protocol/failure_code.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {

absl::Status Federation::CheckSampleCount(const StudyRecord& study, const TaskRecord& task,
                                          const v1::UploadHeader& header) {
  // A site weighs in with its sample count (FedAvg): a claim is capped by the study, and a site's
  // count may not grow after its first round (its data do not change within a study).
  const uint64_t cap = study.spec.max_samples_per_site() > 0
                           ? study.spec.max_samples_per_site()
                           : options_.default_max_samples_per_site;
  if (header.num_samples() > cap) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task '", task.task_id, "': site '", task.site_id, "' claims ", header.num_samples(),
        " samples; this study accepts at most ", cap, " per site (max_samples_per_site)"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<uint64_t> first,
                       store_->FirstTrainingSamples(study.study_id, task.site_id));
  if (first && header.num_samples() > *first) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task '", task.task_id, "': site '", task.site_id, "' claims ", header.num_samples(),
        " samples, more than the ", *first, " of its first round in this study"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> Federation::CachedCheckpoint(
    const std::string& checkpoint_id) {
  return checkpoints_.Get(checkpoint_id,
                          [&] { return store_->GetStoredCheckpoint(checkpoint_id); });
}

absl::StatusOr<UploadPlan> Federation::AuthorizeUpload(const Caller& caller,
                                                       const v1::UploadHeader& header) {
  absl::MutexLock lock(&mu_);
  absl::Status refused = [&]() -> absl::Status {
    SCV_RETURN_IF_ERROR(RequireSite(caller));
    return absl::OkStatus();
  }();
  UploadPlan plan;
  if (refused.ok()) {
    refused = [&]() -> absl::Status {
      SCV_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(header.task_id()));
      if (!task) {
        return absl::NotFoundError(absl::StrCat("task '", header.task_id(), "' does not exist"));
      }
      if (task->site_id != caller.id) {
        return absl::PermissionDeniedError(
            absl::StrCat("task '", header.task_id(), "' was not given to site '", caller.id, "'"));
      }
      SCV_ASSIGN_OR_RETURN(std::optional<ResultRecord> existing,
                           store_->GetResult(header.task_id(), /*with_weights=*/false));
      if (existing) {
        // The same result again (a retry after a lost answer): answered without reading it.
        if (!header.weights_sha256().empty() &&
            existing->weights_sha256 == header.weights_sha256() &&
            existing->num_samples == header.num_samples()) {
          v1::UploadResponse duplicate;
          duplicate.set_accepted(true);
          duplicate.set_duplicate(true);
          duplicate.set_message("already accepted");
          plan.answer = duplicate;
        }
        return absl::OkStatus();  // otherwise SubmitSpooled decides (duplicate or conflict)
      }
      if (task->state != kTaskIssued) {
        return absl::FailedPreconditionError(absl::StrCat("task '", header.task_id(), "' is ",
                                                          task->state,
                                                          "; its round no longer takes results"));
      }
      board_.Allow(caller.id, header.task_id());  // an open task of the site's, nothing in yet
      if (!header.has_weights() || !header.failure().empty()) return absl::OkStatus();
      if (task->kind == v1::TASK_KIND_ANALYZE) {
        // Only a securely aggregated analysis's masked vector: its layout from the round.
        SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> study, store_->GetStudy(task->study_id));
        if (!study) return absl::NotFoundError(absl::StrCat("study '", task->study_id, "'"));
        SCV_ASSIGN_OR_RETURN(const StudyLogic* logic, LogicFor(*study));
        SCV_ASSIGN_OR_RETURN(const std::optional<SecAggSettings> secure,
                             SecAggOf(*study, task->round, *logic));
        if (secure) {
          SCV_RETURN_IF_ERROR(secagg_.CheckMaskedInput(study->study_id, task->round, caller.id));
          SCV_ASSIGN_OR_RETURN(const protocol::TensorSet layout,
                               SecureSumRingLayout(*study, task->checkpoint_id));
          std::string unused;
          plan.expected_layout = protocol::ManifestFor(layout, &unused);
          return absl::OkStatus();
        }
      }
      if (task->kind != v1::TASK_KIND_INIT_MODEL && task->kind != v1::TASK_KIND_TRAIN) {
        return absl::InvalidArgumentError(absl::StrCat("task '", header.task_id(), "': a ",
                                                       v1::TaskKind_Name(task->kind),
                                                       " result carries no weights"));
      }
      if (task->kind == v1::TASK_KIND_TRAIN && !task->checkpoint_id.empty()) {
        // An update must have the round's model's layout: checked on the manifest, before any
        // chunk is stored.
        SCV_ASSIGN_OR_RETURN(std::shared_ptr<const EncodedCheckpoint> input,
                             CachedCheckpoint(task->checkpoint_id));
        plan.expected_layout = input->Manifest(0);
        SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> study, store_->GetStudy(task->study_id));
        if (!study) return absl::NotFoundError(absl::StrCat("study '", task->study_id, "'"));
        SCV_ASSIGN_OR_RETURN(const StudyLogic* logic, LogicFor(*study));
        SCV_ASSIGN_OR_RETURN(const std::optional<SecAggSettings> secure,
                             SecAggOf(*study, task->round, *logic));
        if (secure) {  // a masked update: the round model's names and shapes, int64
          SCV_RETURN_IF_ERROR(secagg_.CheckMaskedInput(study->study_id, task->round, caller.id));
          plan.expected_layout = RingLayout(*plan.expected_layout);
        }
      }
      return absl::OkStatus();
    }();
  }
  if (!refused.ok()) {
    spdlog::warn("refused upload from {} '{}': {}",
                 caller.role == Caller::Role::kSite ? "site" : "coordinator", caller.id,
                 std::string(refused.message()));
    Audit(caller, "result_refused", "", caller.role == Caller::Role::kSite ? caller.id : "",
          {header.task_id()}, std::string(refused.message()));
    return refused;
  }
  return plan;
}

absl::StatusOr<v1::UploadStatusResponse> Federation::UploadStatus(
    const Caller& caller, const v1::UploadStatusRequest& request) {
  // Without mu_ when the board knows the pair: the lock may be held for minutes by another
  // submission's verification and aggregation, and the node asking is deciding whether its own
  // upload is still moving (node/upload_follower.h).
  std::optional<UploadBoard::Entry> known = board_.Find(caller.id, request.task_id());
  if (known) {
    // The site was heard from (its liveness), recorded for the next holder of mu_ to absorb:
    // the board knows only enrolled, enabled sites' own tasks.
    absl::MutexLock lock(&sightings_mu_);
    int64_t& seen = sightings_[caller.id];
    seen = std::max(seen, NowUnix());
  } else {
    absl::MutexLock lock(&mu_);
    SCV_RETURN_IF_ERROR(RequireSite(caller));
    SCV_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(request.task_id()));
    if (!task || task->site_id != caller.id) {
      return absl::NotFoundError(
          absl::StrCat("task '", request.task_id(), "' is not a task of site '", caller.id, "'"));
    }
    SCV_ASSIGN_OR_RETURN(std::optional<ResultRecord> existing,
                         store_->GetResult(request.task_id(), /*with_weights=*/false));
    if (existing) {
      known = UploadBoard::Entry{true, existing->weights_sha256};
    } else if (task->state == kTaskIssued) {
      // Recorded only while the task is open (its round's close forgets it), so that questions
      // about old tasks leave nothing behind.
      board_.Allow(caller.id, request.task_id());
    }
  }
  v1::UploadStatusResponse response;
  if (known && known->accepted && known->accepted_sha256 == request.weights_sha256()) {
    response.set_accepted(true);
    return response;
  }
  response.set_work_token(work_.Token());
  if (spool_ != nullptr) {
    response.set_verified_chunks(spool_->VerifiedChunks(
        {caller.id, request.task_id(), request.weights_sha256()}, request.chunk_bytes()));
  }
  return response;
}

absl::StatusOr<v1::UploadResponse> Federation::SubmitResult(
    const Caller& caller, const v1::UploadHeader& header,
    std::optional<protocol::TensorSet> weights) {
  ReceivedWeights received;
  if (weights && spool_ != nullptr) {
    // In-process clients and tests: the same path as a gRPC upload (authorised, then spooled).
    SCV_ASSIGN_OR_RETURN(UploadPlan plan, AuthorizeUpload(caller, header));
    if (plan.answer) return *plan.answer;
    SCV_ASSIGN_OR_RETURN(SpooledWeights spooled,
                         spool_->Put({caller.id, header.task_id(), ""}, *weights));
    received.spooled = std::move(spooled);
  } else {
    received.in_memory = std::move(weights);
  }
  return Submit(caller, header, std::move(received));
}

absl::StatusOr<v1::UploadResponse> Federation::SubmitSpooled(
    const Caller& caller, const v1::UploadHeader& header, std::optional<SpooledWeights> weights) {
  ReceivedWeights received;
  received.spooled = std::move(weights);
  return Submit(caller, header, std::move(received));
}

void Federation::FlushPrunedFiles() {
  for (const std::string& task_id : pruned_tasks_) {
    board_.ForgetTask(task_id);  // aggregated: the store answers for it from now on
    if (spool_ == nullptr) continue;
    const absl::Status removed = spool_->RemoveTask(task_id);
    if (!removed.ok()) {
      spdlog::warn("cannot delete the uploads of task '{}': {}", task_id,
                   std::string(removed.message()));
    }
  }
  pruned_tasks_.clear();
}

}  // namespace scancov::aggregator
