// The seed's multivariable model building run federated (issue 6): sparse variables dropped,
// folds cut inside each site, mean imputation and standardisation learnt per fold from pooled
// sums, L2 logistic fits by exact federated Newton steps (every candidate x penalty x fold of a
// greedy step fitted at once), penalty and variables chosen by a pair-weighted federated CV AUC,
// elbow rule, final fit on every row. The mathematics and the round plan are in
// models/scores/selection_driver.h; spec, requests, answers and result in
// protocol/wire/model_selection.h.
//
// Round r: every site receives the driver's request as the round's checkpoint (none in round 0)
// and answers aggregates only; an upload is checked against the round's request and the spec's
// shape and refused with the site and field named. Closing a round checks every answer again
// (an answer that does not fit is left out, under "rejected"), pools
// the answers and feeds them to the study's SelectionDriver, kept in memory from round to
// round; after a restart (or any other history than the one it saw) the driver is rebuilt by
// replaying the pooled answers of every earlier round (each round's result_json keeps them
// under "_replay", which the coordinator's StudyStatus leaves out: study_logic.h), so the study
// resumes exactly. Every round must come from the same sites as round 0 (a federated Newton fit
// cannot change its rows midway); a site refusing (release policy) or left out in round 0 is left
// out of every round. The last round's result holds the selection path and the final model.
//
// Under secure aggregation (StudySpec.privacy_json "secure_aggregation") every answer's numbers
// are sums (protocol/wire/model_selection_answer.h, SelectionSumVector): the sites send them
// masked, and the aggregator reads only their sum, the one pooled answer the driver is fed
// (CloseSecureRound). An answer that does not fit the request can then not be left out alone:
// its sum fails the round. A plain answer is refused, as a masked one is without it.
#include <algorithm>
#include <functional>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "models/scores/selection_driver.h"
#include "protocol/wire/model_selection.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;
using scores::SelectionRequest;

// Feeds one round's pooled answers to the driver.
absl::Status Feed(scores::SelectionDriver& driver, const wire::SelectionAggregates& pooled) {
  const SelectionRequest::Kind asked = driver.request().kind;
  if (pooled.kind != asked) {
    return absl::DataLossError(absl::StrCat("model selection: a round answered '",
                                            wire::KindName(pooled.kind), "' where '",
                                            wire::KindName(asked), "' was asked"));
  }
  if (asked == SelectionRequest::Kind::kFits) return driver.AddFits(pooled.models);
  return asked == SelectionRequest::Kind::kSums ? driver.AddSums(pooled.moments)
                                                : driver.AddSquares(pooled.moments);
}

// The pooled answers of this round's sites.
absl::StatusOr<wire::SelectionAggregates> Pool(
    SelectionRequest::Kind kind, const std::vector<wire::SelectionAggregates>& answers) {
  if (answers.empty()) return absl::FailedPreconditionError("no site could take part");
  wire::SelectionAggregates pooled;
  pooled.kind = kind;
  if (kind == SelectionRequest::Kind::kFits) {
    std::vector<std::vector<scores::ModelSiteResult>> sites;
    for (const wire::SelectionAggregates& a : answers) sites.push_back(a.models);
    SCV_ASSIGN_OR_RETURN(pooled.models, scores::PoolModelResults(sites));
    return pooled;
  }
  std::vector<std::vector<scores::PartMoments>> sites;
  for (const wire::SelectionAggregates& a : answers) sites.push_back(a.moments);
  SCV_ASSIGN_OR_RETURN(pooled.moments, scores::PoolMoments(sites));
  return pooled;
}

absl::Status Prefixed(const absl::Status& status, absl::string_view where) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(where, status.message()));
}

// A refusal stored before the upload checks existed (its reason not a string): still a refusal.
bool StoredRefusal(const std::string& result_json) {
  const json j = json::parse(result_json, nullptr, false);
  return j.is_object() && j.contains("status") && j.at("status") == "refused";
}

// One round's results sorted into the answers to pool and the sites left out.
struct Sorted {
  std::vector<wire::SelectionAggregates> answers;
  std::vector<std::string> sites;                 // answered, sorted
  std::vector<wire::SelectionSiteNote> refused;   // by their release policy
  std::vector<wire::SelectionSiteNote> rejected;  // answers that do not fit the study
};

// A round's sites (sorted) against round 0's (none in round 0): a Newton fit cannot change its
// rows midway.
absl::Status CheckSameSites(const std::optional<std::vector<std::string>>& first_sites,
                            const std::vector<std::string>& sites) {
  if (!first_sites || sites == *first_sites) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "sites [", absl::StrJoin(sites, ", "), "] answered, round 0 had [",
      absl::StrJoin(*first_sites, ", "), "]: the fits need the same sites in every round"));
}

// `first_sites`: round 0's sites (none in round 0); a site outside them takes no part later,
// as a Newton fit cannot gain rows midway.
Sorted SortResults(const std::vector<ResultRecord>& results, const SelectionRequest& asked,
                   const wire::SelectionShape& shape,
                   const std::optional<std::vector<std::string>>& first_sites) {
  Sorted out;
  for (const ResultRecord& r : results) {
    absl::StatusOr<wire::SelectionSiteAnswer> answer =
        wire::ParseSelectionSiteAnswer(r.result_json);
    if ((answer.ok() && answer->refused) || (!answer.ok() && StoredRefusal(r.result_json))) {
      out.refused.push_back({r.site_id, answer.ok() ? answer->reason : ""});
      continue;
    }
    absl::Status fits =
        answer.ok() ? wire::CheckAnswer(answer->aggregates, asked, shape) : answer.status();
    if (fits.ok() && first_sites &&
        std::find(first_sites->begin(), first_sites->end(), r.site_id) == first_sites->end()) {
      fits = absl::FailedPreconditionError("not among round 0's sites");
    }
    if (!fits.ok()) {
      out.rejected.push_back({r.site_id, std::string(fits.message())});
      continue;
    }
    out.sites.push_back(r.site_id);
    out.answers.push_back(std::move(answer->aggregates));
  }
  std::sort(out.sites.begin(), out.sites.end());
  return out;
}

// What closing a round needs from the earlier ones: the driver fed with their pooled answers
// and round 0's sites. Kept in memory between rounds so that a close costs one round's work;
// rebuilt from the stored rounds after a restart.
struct Resume {
  std::string study_id;
  uint32_t round = 0;      // the round whose answers the driver awaits
  size_t last_result = 0;  // hash of round - 1's stored result_json (0 for round 0)
  scores::SelectionDriver driver;
  std::optional<std::vector<std::string>> first_sites;
};

class SelectionStudyLogic : public StudyLogic {
 public:
  SelectionStudyLogic(wire::SelectionSpec spec, bool secure)
      : spec_(std::move(spec)), shape_(wire::ShapeOf(spec_)), secure_(secure) {}

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    SCV_ASSIGN_OR_RETURN(wire::SelectionSpec parsed, wire::ParseSelectionSpec(spec.spec_json()));
    return std::make_unique<SelectionStudyLogic>(std::move(parsed),
                                                 HasSecureAggregation(spec.privacy_json()));
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, input_checkpoint);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    return Prefixed(Validate(header, input, weights != nullptr),
                    absl::StrCat("model selection: site ", task.site_id, ": "));
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override;

  absl::StatusOr<RoundOutcome> CloseSecureRound(
      const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
      const std::vector<ResultRecord>& results, const std::vector<double>& sum, size_t summed_sites,
      const std::vector<RoundRecord>& history) const override;

 private:
  // The checks against the round's request, and against the study's shape; under secure
  // aggregation only a clear part's (its numbers are masked). `masked`: the answer came with a
  // masked vector (the Federation checked its layout).
  absl::Status Validate(const v1::UploadHeader& header, const protocol::TensorSet* input,
                        bool masked) const {
    SCV_ASSIGN_OR_RETURN(const wire::SelectionSiteAnswer answer,
                         wire::ParseSelectionSiteAnswer(header.result_json()));
    SCV_RETURN_IF_ERROR(CheckUploadShape(secure_, answer.refused, answer.secure_sum, masked));
    if (answer.refused) return absl::OkStatus();
    SCV_ASSIGN_OR_RETURN(const SelectionRequest request, wire::RequestFromTensors(input, shape_));
    if (answer.secure_sum) return wire::CheckClearPart(answer, request);
    return wire::CheckAnswer(answer.aggregates, request, shape_);
  }

  // Feeds a round's pooled answers to the driver; the round's result, and the next request or
  // the selection.
  absl::StatusOr<RoundOutcome> Advance(uint32_t round, Resume resume,
                                       const wire::SelectionAggregates& pooled,
                                       wire::SelectionRoundResult result) const;

  absl::StatusOr<Resume> Restore(const StudyRecord& study, uint32_t round,
                                 const std::vector<RoundRecord>& history) const;

  void Remember(Resume resume) const {
    absl::MutexLock lock(&mu_);
    cached_ = std::move(resume);
  }

  const wire::SelectionSpec spec_;
  const wire::SelectionShape shape_;
  const bool secure_;  // under secure aggregation
  mutable absl::Mutex mu_;
  mutable std::optional<Resume> cached_ ABSL_GUARDED_BY(mu_);
};

// The driver awaiting round `round`'s answers: the cached one when it is this study's at this
// round after this very history, else rebuilt by replaying the stored rounds (each keeps its
// pooled answers under kReplayKey).
absl::StatusOr<Resume> SelectionStudyLogic::Restore(const StudyRecord& study, uint32_t round,
                                                    const std::vector<RoundRecord>& history) const {
  const size_t last = history.empty() ? 0 : std::hash<std::string>()(history.back().result_json);
  {
    absl::MutexLock lock(&mu_);
    if (cached_) {
      Resume cached = std::move(*cached_);
      cached_.reset();
      if (cached.study_id == study.study_id && cached.round == round &&
          cached.last_result == last) {
        return cached;
      }
    }
  }
  SCV_ASSIGN_OR_RETURN(scores::SelectionDriver driver,
                       scores::SelectionDriver::Create(spec_.variables, spec_.options));
  Resume resume{study.study_id, round, last, std::move(driver), std::nullopt};
  for (const RoundRecord& past : history) {
    const auto loss = [&](absl::string_view why) {
      return absl::DataLossError(absl::StrCat("round ", past.round, ": ", why));
    };
    json j = json::parse(past.result_json, nullptr, false);
    if (!j.is_object() || !j.contains(kReplayKey)) return loss("no pooled answers");
    absl::StatusOr<wire::SelectionAggregates> pooled = wire::AggregatesFromJson(j.at(kReplayKey));
    if (!pooled.ok()) return loss(pooled.status().message());
    j.erase(kReplayKey);
    absl::StatusOr<wire::SelectionRoundResult> stored = wire::ParseSelectionRoundResult(j.dump());
    if (!stored.ok()) return loss(stored.status().message());
    if (!resume.first_sites) resume.first_sites = stored->sites;
    SCV_RETURN_IF_ERROR(Feed(resume.driver, *pooled));
  }
  return resume;
}

absl::StatusOr<RoundOutcome> SelectionStudyLogic::CloseRound(
    const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
    const std::vector<ResultRecord>& results, const std::vector<RoundRecord>& history) const {
  SCV_ASSIGN_OR_RETURN(Resume resume, Restore(study, round, history));
  Sorted sorted = SortResults(results, resume.driver.request(), shape_, resume.first_sites);
  SCV_RETURN_IF_ERROR(CheckSameSites(resume.first_sites, sorted.sites));
  SCV_ASSIGN_OR_RETURN(const wire::SelectionAggregates pooled,
                       Pool(resume.driver.request().kind, sorted.answers));
  wire::SelectionRoundResult result;
  result.sites = std::move(sorted.sites);
  result.refused = std::move(sorted.refused);
  result.rejected = std::move(sorted.rejected);
  return Advance(round, std::move(resume), pooled, std::move(result));
}

// The results are the clear parts of the sum's answers (checked at upload) and the refusals
// sent in clear; the sites of the clear parts are those in the sum.
absl::StatusOr<RoundOutcome> SelectionStudyLogic::CloseSecureRound(
    const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
    const std::vector<ResultRecord>& results, const std::vector<double>& sum, size_t summed_sites,
    const std::vector<RoundRecord>& history) const {
  SCV_ASSIGN_OR_RETURN(Resume resume, Restore(study, round, history));
  const SelectionRequest& asked = resume.driver.request();
  wire::SelectionRoundResult result;
  for (const ResultRecord& r : results) {
    absl::StatusOr<wire::SelectionSiteAnswer> answer =
        wire::ParseSelectionSiteAnswer(r.result_json);
    if (answer.ok() && answer->refused) {
      result.refused.push_back({r.site_id, answer->reason});
      continue;
    }
    const absl::Status clear = answer.ok() ? wire::CheckClearPart(*answer, asked) : answer.status();
    if (!clear.ok()) {
      return absl::DataLossError(
          absl::StrCat("model selection: site ", r.site_id, ": ", clear.message()));
    }
    result.sites.push_back(r.site_id);
  }
  std::sort(result.sites.begin(), result.sites.end());
  if (result.sites.size() != summed_sites) {
    return absl::InternalError(absl::StrCat("model selection: ", summed_sites,
                                            " sites in the secure sum, ", result.sites.size(),
                                            " masked answers accepted"));
  }
  SCV_RETURN_IF_ERROR(CheckSameSites(resume.first_sites, result.sites));
  if (result.sites.empty()) return absl::FailedPreconditionError("no site could take part");
  SCV_ASSIGN_OR_RETURN(const wire::SelectionAggregates pooled,
                       wire::SelectionAggregatesFromSum(sum, asked, shape_));
  return Advance(round, std::move(resume), pooled, std::move(result));
}

absl::StatusOr<RoundOutcome> SelectionStudyLogic::Advance(uint32_t round, Resume resume,
                                                          const wire::SelectionAggregates& pooled,
                                                          wire::SelectionRoundResult result) const {
  scores::SelectionDriver& driver = resume.driver;
  result.stage = driver.stage();
  result.models = static_cast<int64_t>(driver.request().models.size());
  SCV_RETURN_IF_ERROR(Feed(driver, pooled));
  RoundOutcome out;
  out.metrics["models"] = static_cast<double>(result.models);
  out.metrics["sites"] = static_cast<double>(result.sites.size());
  if (driver.done()) {
    SCV_ASSIGN_OR_RETURN(scores::FederatedSelection selection, driver.Result());
    out.metrics["mean_cv_auc"] = selection.cv_auc;
    result.selection =
        wire::SelectionOutcome{spec_.outcome, static_cast<int>(round) + 1, std::move(selection)};
    out.study_done = true;
  } else {
    out.weights = wire::RequestToTensors(driver.request());
  }
  // The pooled answers are kept for a replay after a restart; the coordinator never sees them.
  json stored = json::parse(wire::ToJson(result));
  stored[kReplayKey] = wire::AggregatesToJson(pooled);
  out.result_json = stored.dump();
  if (!out.study_done) {
    if (!resume.first_sites) resume.first_sites = result.sites;
    resume.round = round + 1;
    resume.last_result = std::hash<std::string>()(out.result_json);
    Remember(std::move(resume));
  }
  return out;
}

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(model_selection, &SelectionStudyLogic::Create);

}  // namespace scancov::aggregator
