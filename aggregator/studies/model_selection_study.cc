// The seed's multivariable model building run federated (issue 6): sparse variables dropped,
// folds cut inside each site, mean imputation and standardisation learnt per fold from pooled
// sums, L2 logistic fits by exact federated Newton steps (every candidate x penalty x fold of a
// greedy step fitted at once), penalty and variables chosen by a pair-weighted federated CV AUC,
// elbow rule, final fit on every row. The mathematics and the round plan are in
// models/scores/selection_driver.h, the spec and wire format in models/scores/selection_wire.h.
//
// Round r: every site receives the driver's request as the round's checkpoint (none in round 0)
// and answers aggregates only; an upload is checked against the round's request (sums: the
// shape it claims) and refused with the site and field named. Closing a round checks every
// answer against the spec (an answer that does not fit is left out, under "rejected"), pools
// the answers and feeds them to the study's SelectionDriver, kept in memory from round to
// round; after a restart (or any other history than the one it saw) the driver is rebuilt by
// replaying the pooled answers of every earlier round (each round's result_json keeps them
// under "_replay", which the coordinator's StudyStatus leaves out: study_logic.h), so the study
// resumes exactly. Every round must come from the same sites as round 0 (a federated Newton fit
// cannot change its rows midway); a site refusing (release policy) or left out in round 0 is left
// out of every round. The last round's result holds the selection path and the final model.
#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "models/scores/selection_driver.h"
#include "models/scores/selection_wire.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;
using scores::SelectionRequest;

json StepJson(const scores::SelectionStep& s) {
  return {{"variable", s.variable}, {"mean_cv_auc", s.mean_auc}, {"penalty", s.penalty}};
}

json SelectionJson(const scores::FederatedSelection& f) {
  json steps = json::array(), variables = json::array();
  for (const scores::SelectionStep& s : f.path) steps.push_back(StepJson(s));
  for (size_t j = 0; j < f.variables.size(); ++j) {
    variables.push_back({{"name", f.variables[j]},
                         {"imputation_mean", f.standardization.means[j]},
                         {"scale", f.standardization.scales[j]},
                         {"coefficient", f.coefficients[j]}});
  }
  return {{"steps", steps},
          {"rejected", f.rejected ? StepJson(*f.rejected) : json(nullptr)},
          {"dropped_sparse", f.dropped_sparse},
          {"dropped_constant", f.dropped_constant},
          {"final",
           {{"variables", variables},
            {"intercept", f.intercept},
            {"penalty", f.penalty},
            {"mean_cv_auc", f.cv_auc},
            {"n", f.num_observations},
            {"events", f.num_events}}}};
}

// Feeds one round's pooled answers (as stored under "_replay") to the driver.
absl::Status Feed(scores::SelectionDriver& driver, const json& pooled) {
  const std::string kind =
      pooled.is_object() && pooled.contains("kind") && pooled.at("kind").is_string()
          ? pooled.at("kind").get<std::string>()
          : std::string();
  if (kind != scores::KindName(driver.request().kind)) {
    return absl::DataLossError(absl::StrCat("model selection: a round answered '", kind,
                                            "' where '", scores::KindName(driver.request().kind),
                                            "' was asked"));
  }
  if (driver.request().kind == SelectionRequest::Kind::kFits) {
    SCV_ASSIGN_OR_RETURN(std::vector<scores::ModelSiteResult> r,
                         scores::ModelResultsFromJson(pooled.value("models", json())));
    return driver.AddFits(r);
  }
  SCV_ASSIGN_OR_RETURN(std::vector<scores::PartMoments> m,
                       scores::MomentsFromJson(pooled.value("moments", json())));
  return driver.request().kind == SelectionRequest::Kind::kSums ? driver.AddSums(m)
                                                                : driver.AddSquares(m);
}

// The pooled answers of this round's sites, as Feed reads them.
absl::StatusOr<json> Pool(SelectionRequest::Kind kind, const std::vector<json>& answers) {
  if (answers.empty()) return absl::FailedPreconditionError("no site could take part");
  json pooled = {{"kind", scores::KindName(kind)}};
  if (kind == SelectionRequest::Kind::kFits) {
    std::vector<std::vector<scores::ModelSiteResult>> sites;
    for (const json& a : answers) {
      SCV_ASSIGN_OR_RETURN(std::vector<scores::ModelSiteResult> r,
                           scores::ModelResultsFromJson(a.value("models", json())));
      sites.push_back(std::move(r));
    }
    SCV_ASSIGN_OR_RETURN(std::vector<scores::ModelSiteResult> total,
                         scores::PoolModelResults(sites));
    pooled["models"] = scores::ModelResultsToJson(total);
    return pooled;
  }
  std::vector<std::vector<scores::PartMoments>> sites;
  for (const json& a : answers) {
    SCV_ASSIGN_OR_RETURN(std::vector<scores::PartMoments> m,
                         scores::MomentsFromJson(a.value("moments", json())));
    sites.push_back(std::move(m));
  }
  SCV_ASSIGN_OR_RETURN(std::vector<scores::PartMoments> total, scores::PoolMoments(sites));
  pooled["moments"] = scores::MomentsToJson(total);
  return pooled;
}

absl::Status Prefixed(const absl::Status& status, absl::string_view where) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(where, status.message()));
}

// One round's results sorted into the answers to pool and the sites left out.
struct Sorted {
  std::vector<json> answers;
  json sites = json::array();     // answered, sorted
  json refused = json::array();   // by their release policy
  json rejected = json::array();  // answers that do not fit the study (defence in depth)
};

// `first_sites`: round 0's sites (null in round 0); a site outside them takes no part later,
// as a Newton fit cannot gain rows midway.
Sorted SortResults(const std::vector<ResultRecord>& results, const scores::SelectionRequest& asked,
                   const scores::SelectionShape& shape, const json& first_sites) {
  Sorted out;
  for (const ResultRecord& r : results) {
    json j = json::parse(r.result_json, nullptr, false);
    const bool refused = j.is_object() && j.contains("status") && j.at("status").is_string() &&
                         j.at("status").get<std::string>() == "refused";
    if (refused) {
      const json reason =
          j.contains("reason") && j.at("reason").is_string() ? j.at("reason") : json("");
      out.refused.push_back({{"site", r.site_id}, {"reason", reason}});
      continue;
    }
    absl::Status fits = j.is_object() ? scores::CheckAnswer(j, asked, shape)
                                      : absl::InvalidArgumentError("not a JSON object");
    if (fits.ok() && !first_sites.is_null() &&
        std::find(first_sites.begin(), first_sites.end(), json(r.site_id)) == first_sites.end()) {
      fits = absl::FailedPreconditionError("not among round 0's sites");
    }
    if (!fits.ok()) {
      out.rejected.push_back({{"site", r.site_id}, {"reason", std::string(fits.message())}});
      continue;
    }
    out.sites.push_back(r.site_id);
    out.answers.push_back(std::move(j));
  }
  std::sort(out.sites.begin(), out.sites.end());
  return out;
}

// What closing a round needs from the earlier ones: the driver fed with their pooled answers
// and round 0's sites. Kept in memory between rounds so that a close costs one round's work;
// rebuilt from the stored rounds after a restart.
struct Resume {
  uint32_t round = 0;      // the round whose answers the driver awaits
  std::string spec_json;   // the study's
  size_t last_result = 0;  // hash of round - 1's stored result_json (0 for round 0)
  scores::SelectionDriver driver;
  json first_sites;
};

class SelectionStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const {
    return scores::ParseSelectionSpec(spec.spec_json()).status();
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, input_checkpoint);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    const std::string where = absl::StrCat("model selection: site ", task.site_id, ": ");
    try {
      return Prefixed(Validate(header, weights, input), where);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(where, "malformed result_json: ", e.what()));
    }
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    try {
      return Close(study, round, results, history);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("model selection: round ", round, ": malformed input: ", e.what()));
    }
  }

 private:
  // The checks against the round's request; for the sums request (no checkpoint) against the
  // shape the answer claims, CloseRound then checks it against the spec.
  static absl::Status Validate(const v1::UploadHeader& header, const protocol::TensorSet* weights,
                               const protocol::TensorSet* input) {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    const json j = json::parse(header.result_json(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError("result_json is not a JSON object");
    }
    const json status = j.contains("status") ? j.at("status") : json();
    if (status == "refused") {
      if (!j.contains("reason") || !j.at("reason").is_string()) {
        return absl::InvalidArgumentError("result_json: a refusal's 'reason' must be a string");
      }
      return absl::OkStatus();
    }
    if (status != "ok") {
      return absl::InvalidArgumentError(R"(result_json: 'status' must be "ok" or "refused")");
    }
    SCV_ASSIGN_OR_RETURN(const scores::SelectionShape shape, scores::ClaimedShape(input, j));
    SCV_ASSIGN_OR_RETURN(const SelectionRequest request, scores::RequestFromTensors(input, shape));
    return scores::CheckAnswer(j, request, shape);
  }

  // The driver awaiting round `round`'s answers: the cached one when it is this study's at this
  // round after this very history, else rebuilt by replaying the stored rounds.
  absl::StatusOr<Resume> Restore(const StudyRecord& study, uint32_t round,
                                 const scores::SelectionSpec& spec,
                                 const std::vector<RoundRecord>& history) const {
    const size_t last = history.empty() ? 0 : std::hash<std::string>()(history.back().result_json);
    {
      absl::MutexLock lock(&mu_);
      auto it = cache_.find(study.study_id);
      if (it != cache_.end()) {
        Resume cached = std::move(it->second);
        cache_.erase(it);
        if (cached.round == round && cached.spec_json == study.spec.spec_json() &&
            cached.last_result == last) {
          return cached;
        }
      }
    }
    SCV_ASSIGN_OR_RETURN(scores::SelectionDriver driver,
                         scores::SelectionDriver::Create(spec.variables, spec.options));
    Resume resume{round, study.spec.spec_json(), last, std::move(driver), json()};
    for (const RoundRecord& past : history) {
      const json j = json::parse(past.result_json, nullptr, false);
      if (!j.is_object() || !j.contains(kReplayKey)) {
        return absl::DataLossError(absl::StrCat("round ", past.round, ": no pooled answers"));
      }
      if (resume.first_sites.is_null()) resume.first_sites = j.value("sites", json::array());
      SCV_RETURN_IF_ERROR(Feed(resume.driver, j.at(kReplayKey)));
    }
    return resume;
  }

  void Remember(const std::string& study_id, Resume resume) const {
    absl::MutexLock lock(&mu_);
    // Studies abandoned midway leave an entry; a few dozen at most are kept.
    if (cache_.size() >= kMaxCached) cache_.erase(cache_.begin());
    cache_.insert_or_assign(study_id, std::move(resume));
  }

  absl::StatusOr<RoundOutcome> Close(const StudyRecord& study, uint32_t round,
                                     const std::vector<ResultRecord>& results,
                                     const std::vector<RoundRecord>& history) const {
    SCV_ASSIGN_OR_RETURN(const scores::SelectionSpec spec,
                         scores::ParseSelectionSpec(study.spec.spec_json()));
    SCV_ASSIGN_OR_RETURN(Resume resume, Restore(study, round, spec, history));
    scores::SelectionDriver& driver = resume.driver;
    Sorted sorted =
        SortResults(results, driver.request(), scores::ShapeOf(spec), resume.first_sites);
    if (!resume.first_sites.is_null() && sorted.sites != resume.first_sites) {
      return absl::FailedPreconditionError(
          absl::StrCat("sites ", sorted.sites.dump(), " answered, round 0 had ",
                       resume.first_sites.dump(), ": the fits need the same sites in every round"));
    }
    const std::string stage = driver.stage();
    const size_t num_models = driver.request().models.size();
    SCV_ASSIGN_OR_RETURN(json pooled, Pool(driver.request().kind, sorted.answers));
    SCV_RETURN_IF_ERROR(Feed(driver, pooled));
    RoundOutcome out;
    json result = {{"analysis", "model_selection"}, {"stage", stage},
                   {"models", num_models},          {kReplayKey, pooled},
                   {"sites", sorted.sites},         {"refused", sorted.refused},
                   {"rejected", sorted.rejected}};
    out.metrics["models"] = static_cast<double>(num_models);
    out.metrics["sites"] = static_cast<double>(sorted.sites.size());
    if (driver.done()) {
      SCV_ASSIGN_OR_RETURN(const scores::FederatedSelection selection, driver.Result());
      result["selection"] = SelectionJson(selection);
      result["selection"]["rounds"] = round + 1;
      result["selection"]["outcome"] = spec.outcome;
      out.metrics["mean_cv_auc"] = selection.cv_auc;
      out.study_done = true;
    } else {
      out.weights = scores::RequestToTensors(driver.request());
    }
    out.result_json = result.dump();
    if (!out.study_done) {
      if (resume.first_sites.is_null()) resume.first_sites = sorted.sites;
      resume.round = round + 1;
      resume.last_result = std::hash<std::string>()(out.result_json);
      Remember(study.study_id, std::move(resume));
    }
    return out;
  }

  static constexpr size_t kMaxCached = 64;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, Resume> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<StudyLogic>> CreateSelectionStudyLogic(const v1::StudySpec& spec) {
  auto logic = std::make_unique<SelectionStudyLogic>();
  SCV_RETURN_IF_ERROR(logic->ValidateSpec(spec));
  return logic;
}

SCANCOV_REGISTER_STUDY_LOGIC(model_selection, &CreateSelectionStudyLogic);

}  // namespace scancov::aggregator
