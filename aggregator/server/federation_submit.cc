// Federation: submitting a site's result.
//
// A streamed round's upload (SubmitSpooled, SubmitResult) is accepted in three steps:
//  1. claim, under mu_: every check of the result (the task is the site's and issued, nothing
//     accepted for it, its layout, its sample count); the task joins claimed_ and its study's
//     folding_ count; nothing is written. Another submission of a claimed task waits for the
//     claim's outcome (then it is a duplicate, a conflict, or accepted in its turn).
//  2. fold, without mu_: the spooled payload is read a tensor at a time and folded into the
//     round's running aggregate under the aggregation's own mutex (the first fold also decodes
//     the round's model for its layout).
//  3. record, under mu_, in one transaction: the checks again (an abort, a denial or a deadline
//     may have come meanwhile), the result stored, the task done, and the round closed when it
//     is complete. Refused here: the aggregate holds an update that is not accepted, so it is
//     dropped and the round's close rebuilds it from the stored results.
// Exactly once: the store is the record of what is accepted; a running aggregate is used at the
// close only if the set of tasks folded into it equals the set of accepted results, otherwise
// the close folds the stored results again (as after a restart, which loses every aggregate).
// "Accepted" and the close that uses it commit together, as before: a kill during a fold leaves
// nothing accepted (the node uploads again), a kill after the commit leaves the result stored.
// MaybeCloseRound leaves a round with folds in flight open (the last record closes it; a passed
// deadline is seen by the next Tick).
// Fold order: uploads of a round take its aggregate in the order they reach it, which need not
// be the order their results are recorded (a rebuild folds in that order). The strategies sum in
// double and round once to each tensor's dtype (strategy.h), so the order changes a model only
// where a double sum's last bit decides a float's rounding (a rare element, by one ulp); median
// and trimmed mean sort each coordinate and do not depend on it. The same freedom existed before
// between a live round and its rebuild after a restart. What still runs under mu_: the close of a
// round (the strategy's Finish, for median and Krum over every update, and the new model's write to
// SQLite), a rebuild after a restart or a refused fold, and the small results of analyses
// (validated whole). UploadStatus mostly answers from the UploadBoard and the spool.
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
namespace {

// Names, shapes and dtypes equal, in order (values and byte ranges aside).
absl::Status CheckLayout(const v1::WeightsManifest& expected, const v1::WeightsManifest& got) {
  if (expected.tensors_size() != got.tensors_size()) {
    return absl::InvalidArgumentError(absl::StrCat("update: ", got.tensors_size(),
                                                   " tensors, the round's model has ",
                                                   expected.tensors_size()));
  }
  for (int i = 0; i < expected.tensors_size(); ++i) {
    const v1::TensorSpec& e = expected.tensors(i);
    const v1::TensorSpec& g = got.tensors(i);
    if (e.name() != g.name() || e.dtype() != g.dtype() ||
        !std::equal(e.shape().begin(), e.shape().end(), g.shape().begin(), g.shape().end())) {
      return absl::InvalidArgumentError(absl::StrCat("update: tensor ", i, " ('", g.name(),
                                                     "') does not match the round's model ('",
                                                     e.name(), "')"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::UploadResponse> Federation::Submit(const Caller& caller,
                                                      const v1::UploadHeader& header,
                                                      ReceivedWeights received) {
  // The steps of the class comment (federation.h): claim under mu_, fold without it, record.
  const std::string& task_id = header.task_id();
  const std::string digest = received.spooled     ? received.spooled->sha256_hex
                             : received.in_memory ? protocol::WeightsDigestHex(*received.in_memory)
                                                  : "";
  std::optional<FoldClaim> claim;
  {
    absl::MutexLock lock(&mu_);
    // One submission of a task at a time: a second (a retry whose first attempt is still being
    // folded) is answered once the first's outcome is recorded.
    auto unclaimed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return claimed_.count(task_id) == 0;
    };
    mu_.Await(absl::Condition(&unclaimed));
    SCV_RETURN_IF_ERROR(RequireSite(caller));
    absl::StatusOr<v1::UploadResponse> response;
    const absl::Status tx = store_->InTransaction([&]() -> absl::Status {
      response = SubmitLocked(caller, header, received, digest, &claim);
      return response.status();
    });
    if (!tx.ok() || !claim) return Answered(caller, header, digest, tx, std::move(response));
    claimed_.insert(task_id);
    ++folding_[claim->study_id];
  }
  FoldClaimed(*claim, task_id, caller.id, header.num_samples(), received);
  absl::MutexLock lock(&mu_);
  claimed_.erase(task_id);
  if (--folding_[claim->study_id] == 0) folding_.erase(claim->study_id);
  absl::StatusOr<v1::UploadResponse> response;
  const absl::Status tx = store_->InTransaction([&]() -> absl::Status {
    response = SubmitLocked(caller, header, received, digest, nullptr);
    return response.status();
  });
  if (!tx.ok()) {
    pruned_tasks_.clear();  // rolled back
    AfterRefusedFold(*claim);
  }
  return Answered(caller, header, digest, tx, std::move(response));
}

absl::StatusOr<v1::UploadResponse> Federation::Answered(
    const Caller& caller, const v1::UploadHeader& header, const std::string& digest,
    const absl::Status& tx, absl::StatusOr<v1::UploadResponse> response) {
  if (!tx.ok()) {
    pruned_tasks_.clear();  // rolled back: the files still belong to stored results
    spdlog::warn("refused upload from site '{}': {}", caller.id, std::string(tx.message()));
    Audit(caller, "result_refused", "", caller.id, {header.task_id()}, std::string(tx.message()));
    return tx;
  }
  if (header.failure().empty() && !response->duplicate()) {
    // Committed: UploadStatus may say so without the lock.
    board_.Accepted(caller.id, header.task_id(), digest);
  }
  FlushPrunedFiles();  // after: a round this upload closed leaves nothing on the board
  if (!response->duplicate()) {
    spdlog::info("accepted result of task '{}' from site '{}'", header.task_id(), caller.id);
  }
  return response;
}

void Federation::AfterRefusedFold(const FoldClaim& claim) {
  auto it = aggregations_.find(claim.study_id);
  if (it != aggregations_.end() && it->second == claim.aggregation) aggregations_.erase(it);
  // The refusal may have left the round complete (the task failed or expired meanwhile, and
  // MaybeCloseRound waited for this fold): close it now rather than at its deadline.
  if (folding_.count(claim.study_id) > 0) return;  // the last fold in flight will
  const absl::Status closed = store_->InTransaction([&]() -> absl::Status {
    SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> study, store_->GetStudy(claim.study_id));
    if (!study || study->state != v1::STUDY_STATE_RUNNING) return absl::OkStatus();
    return MaybeCloseRound(*study, /*deadline_passed=*/false);
  });
  if (!closed.ok()) {
    pruned_tasks_.clear();
    spdlog::warn("study '{}': cannot close the round after a refused upload: {}", claim.study_id,
                 std::string(closed.message()));
    return;
  }
  FlushPrunedFiles();
}

absl::StatusOr<v1::UploadResponse> Federation::SubmitLocked(const Caller& caller,
                                                            const v1::UploadHeader& header,
                                                            const ReceivedWeights& received,
                                                            const std::string& digest,
                                                            std::optional<FoldClaim>* claim) {
  const std::string& task_id = header.task_id();
  SCV_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(task_id));
  if (!task) return absl::NotFoundError(absl::StrCat("task '", task_id, "' does not exist"));
  if (task->site_id != caller.id) {
    return absl::PermissionDeniedError(
        absl::StrCat("task '", task_id, "' was not given to site '", caller.id, "'"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<ResultRecord> existing,
                       store_->GetResult(task_id, /*with_weights=*/false));
  v1::UploadResponse response;
  if (existing) {
    if (existing->weights_sha256 == digest && existing->num_samples == header.num_samples()) {
      response.set_accepted(true);
      response.set_duplicate(true);
      response.set_message("already accepted");
      return response;
    }
    return absl::AlreadyExistsError(
        absl::StrCat("task '", task_id, "' already has a different result"));
  }
  if (task->state != kTaskIssued) {
    return absl::FailedPreconditionError(absl::StrCat("task '", task_id, "' is ", task->state,
                                                      "; its round no longer takes results"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> study, store_->GetStudy(task->study_id));
  if (!header.failure().empty()) {  // the site could not do it: no result, the reason kept
    // Only a code of the fixed vocabulary and numbers (protocol/failure_code.h); free text
    // from a site (an old or hostile node) is not stored or shown.
    const std::string why = protocol::IsFailureReport(header.failure())
                                ? header.failure()
                                : std::string("unrecognized_failure");
    task->state = kTaskFailed;
    task->done_unix = NowUnix();
    SCV_RETURN_IF_ERROR(store_->UpsertTask(*task));
    secagg_.Withdraw(study->study_id, task->round, caller.id);
    Audit(caller, "failure_received", study->study_id, caller.id, {task_id}, why);
    study->message = absl::StrCat(caller.id, ": ", why);
    SCV_RETURN_IF_ERROR(store_->UpdateStudy(*study));
    if (task->round == study->current_round) {
      SCV_RETURN_IF_ERROR(MaybeCloseRound(*study, /*deadline_passed=*/false));
    }
    response.set_accepted(true);
    response.set_message("failure recorded");
    return response;
  }
  if (task->kind == v1::TASK_KIND_TRAIN) {
    SCV_RETURN_IF_ERROR(CheckSampleCount(*study, *task, header));
  }
  SCV_ASSIGN_OR_RETURN(const StudyLogic* logic, LogicFor(*study));
  std::optional<SecAggSettings> secure;
  if (SecureTask(*study, *task)) {
    SCV_ASSIGN_OR_RETURN(secure, SecAggOf(*study, task->round, *logic));
  }
  // An analysis's masked vector (a refusal comes in clear, without one).
  const bool masked_answer =
      secure && task->kind == v1::TASK_KIND_ANALYZE && (received.spooled || received.in_memory);
  const AggregationStrategy* strategy = secure && task->kind == v1::TASK_KIND_ANALYZE ? nullptr
                                        : secure                                      ? &ring_sum_
                                                 : logic->RoundStrategy(task->round);
  const std::string where = absl::StrCat("task '", task_id, "'");
  std::shared_ptr<const EncodedCheckpoint> input;
  if (!task->checkpoint_id.empty()) {
    SCV_ASSIGN_OR_RETURN(input, CachedCheckpoint(task->checkpoint_id));
  }
  if (masked_answer) {
    SCV_RETURN_IF_ERROR(ValidateMaskedAnswer(*study, *task, *logic, header, received, input.get()));
  } else if (secure && task->kind == v1::TASK_KIND_TRAIN) {
    // A masked update: only its layout can be checked (the masks make every value look
    // random), and that it comes from a site of the session.
    if (input == nullptr) return absl::InternalError(where + ": a secure round without a model");
    absl::Status layout =
        absl::InvalidArgumentError("a securely aggregated round's result carries a masked update");
    if (received.spooled) {
      layout = CheckLayout(RingLayout(input->Manifest(0)), received.spooled->manifest);
    } else if (received.in_memory) {  // in-process clients (tests)
      SCV_ASSIGN_OR_RETURN(protocol::TensorSet model, input->Decode());
      layout = received.in_memory->CheckSameLayout(RingLayout(model));
    }
    SCV_RETURN_IF_ERROR(Annotate(layout, where));
    SCV_RETURN_IF_ERROR(Annotate(logic->ValidateStreamedResult(*task, header), where));
    SCV_RETURN_IF_ERROR(secagg_.CheckMaskedInput(study->study_id, task->round, caller.id));
  } else if (strategy != nullptr && received.spooled) {
    // A streamed round: the weights were checked as they arrived (every value finite); their
    // layout against the round's model here; the rest of the result by the study's logic.
    if (input == nullptr) return absl::InternalError(where + ": a streamed round without a model");
    SCV_RETURN_IF_ERROR(
        Annotate(CheckLayout(input->Manifest(0), received.spooled->manifest), where));
    SCV_RETURN_IF_ERROR(Annotate(logic->ValidateStreamedResult(*task, header), where));
  } else {
    // Small results (an initial model, statistics): checked whole by the study's logic.
    std::optional<protocol::TensorSet> weights = received.in_memory;
    if (received.spooled) {
      SCV_ASSIGN_OR_RETURN(protocol::TensorSet loaded, LoadSpooled(*received.spooled));
      weights = std::move(loaded);
    }
    std::optional<protocol::TensorSet> input_set;
    if (input != nullptr) {
      SCV_ASSIGN_OR_RETURN(input_set, input->Decode());
    }
    SCV_RETURN_IF_ERROR(Annotate(logic->ValidateResult(*task, header, weights ? &*weights : nullptr,
                                                       input_set ? &*input_set : nullptr),
                                 where));
  }
  const bool folds = strategy != nullptr && input != nullptr &&
                     task->round == study->current_round &&
                     (received.spooled || received.in_memory);
  if (folds && claim != nullptr) {
    // Checked: the update is folded without mu_ before it is recorded (federation.h). Without
    // a running aggregate (after a restart) it is recorded now and folded at the round's close.
    std::shared_ptr<Aggregation> aggregation = AggregationFor(*study, *task);
    if (aggregation != nullptr) {
      *claim = FoldClaim{study->study_id, std::move(aggregation), strategy, input};
      return response;  // nothing written; not sent
    }
  }
  ResultRecord result;
  result.task_id = task_id;
  result.site_id = caller.id;
  result.num_samples = header.num_samples();
  result.metrics = Metrics(header.metrics().begin(), header.metrics().end());
  result.result_json = header.result_json();
  if (received.spooled) {
    result.weights_path = received.spooled->path;
    result.weights_manifest = received.spooled->manifest;
  } else {
    result.weights = received.in_memory;
  }
  result.weights_sha256 = digest;
  result.received_unix = NowUnix();
  SCV_RETURN_IF_ERROR(store_->InsertResult(result));
  task->state = kTaskDone;
  task->done_unix = result.received_unix;
  SCV_RETURN_IF_ERROR(store_->UpsertTask(*task));
  if (secure && (task->kind == v1::TASK_KIND_TRAIN || masked_answer)) {
    SCV_RETURN_IF_ERROR(secagg_.NoteMaskedInput(study->study_id, task->round, caller.id));
  } else if (secure) {
    secagg_.Withdraw(study->study_id, task->round, caller.id);  // a refusal sent in clear
  }
  Audit(caller, "result_accepted", task->study_id, caller.id, {task_id},
        absl::StrCat(result.num_samples, " samples",
                     digest.empty() ? "" : absl::StrCat(", weights sha256 ", digest)));
  if (task->round == study->current_round) {
    SCV_RETURN_IF_ERROR(MaybeCloseRound(*study, /*deadline_passed=*/false));
  }
  response.set_accepted(true);
  response.set_message("accepted");
  return response;
}

}  // namespace scancov::aggregator
