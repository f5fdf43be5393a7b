// Models the coordinator gives the federation (federation.h): an uploaded model a training study
// starts from instead of one built at a site (TrainingPlan.initial_model_sha256).
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "aggregator/server/federation.h"
#include "core/status_macros.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

// Uploaded models live outside every study (study_id ""): a study's retention never prunes them.
std::string UploadedModelId(const std::string& sha256_hex) {
  return absl::StrCat("model/", sha256_hex);
}

bool IsSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

}  // namespace

absl::Status Federation::AuthorizeCoordinator(const Caller& caller) {
  absl::MutexLock lock(&mu_);
  return RequireCoordinator(caller);
}

absl::StatusOr<v1::UploadModelResponse> Federation::UploadModel(
    const Caller& caller, const protocol::TensorSet& weights) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  if (weights.empty()) return absl::InvalidArgumentError("uploaded model: no tensors");
  SCV_RETURN_IF_ERROR(Annotate(protocol::CheckAllFinite(weights), "uploaded model"));
  v1::UploadModelResponse response;
  response.set_sha256(protocol::WeightsDigestHex(weights));
  response.set_total_bytes(weights.TotalBytes());
  response.set_tensors(static_cast<uint32_t>(weights.size()));
  const std::string id = UploadedModelId(response.sha256());
  absl::StatusOr<StoredWeights> existing = store_->GetStoredCheckpoint(id);
  if (existing.ok()) {
    response.set_already_stored(true);
    return response;
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  SCV_RETURN_IF_ERROR(store_->PutCheckpoint(id, "", 0, weights, NowUnix()));
  Audit(caller, "model_uploaded", "", "", {},
        absl::StrCat(response.sha256(), ", ", response.tensors(), " tensors, ",
                     response.total_bytes(), " bytes"));
  spdlog::info("model {} uploaded: {} tensors, {} bytes", response.sha256(), response.tensors(),
               response.total_bytes());
  return response;
}

absl::Status Federation::CheckInitialModel(const v1::StudySpec& spec, const StudyLogic& logic) {
  const std::string& digest = spec.plan().initial_model_sha256();
  if (digest.empty()) return absl::OkStatus();
  if (!IsSha256Hex(digest)) {
    return absl::InvalidArgumentError(
        "study spec: plan.initial_model_sha256 must be 64 lower-case hex digits (the digest "
        "scancov-coord upload-model printed)");
  }
  if (!logic.StartsFromUploadedModel()) {
    return absl::InvalidArgumentError(
        absl::StrCat("study spec: a ", spec.study_kind(),
                     " study cannot start from an uploaded model (plan.initial_model_sha256 is for "
                     "studies that train one model)"));
  }
  absl::StatusOr<StoredWeights> stored = store_->GetStoredCheckpoint(UploadedModelId(digest));
  if (absl::IsNotFound(stored.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("study spec: no uploaded model has digest ", digest,
                     " (upload it first: scancov-coord upload-model)"));
  }
  return stored.status();
}

absl::Status Federation::StartFromUploadedModel(StudyRecord& study) {
  const std::string& digest = study.spec.plan().initial_model_sha256();
  SCV_ASSIGN_OR_RETURN(protocol::TensorSet weights, store_->GetCheckpoint(UploadedModelId(digest)));
  if (protocol::WeightsDigestHex(weights) != digest) {  // the row's manifest hash was checked
    return absl::DataLossError(absl::StrCat("uploaded model ", digest, ": stored bytes differ"));
  }
  // The study's own copy, as if round 0 had built it: retention, reports and exports treat it
  // like any round's model, and the uploaded original stays for other studies.
  RoundRecord r0;
  r0.study_id = study.study_id;
  r0.round = 0;
  r0.state = kRoundClosed;
  r0.opened_unix = r0.closed_unix = NowUnix();
  r0.checkpoint_id = CheckpointId(study.study_id, 0);
  SCV_RETURN_IF_ERROR(
      store_->PutCheckpoint(r0.checkpoint_id, study.study_id, 0, weights, r0.closed_unix));
  SCV_RETURN_IF_ERROR(store_->UpsertRound(r0));
  Audit("aggregator", "", "round_closed", study.study_id, "", {},
        absl::StrCat("round 0 -> ", r0.checkpoint_id, " (uploaded model ", digest, ")"));
  return OpenRound(study, 1, r0.checkpoint_id);
}

}  // namespace scancov::aggregator
