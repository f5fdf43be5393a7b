// StudyLogic: what one kind of study does round by round. The Federation owns the protocol
// (who may call what, idempotency, deadlines, persistence); a StudyLogic only decides which
// tasks a round has, whether an upload is acceptable, and what a closed round produces.
#ifndef SCANCOV_AGGREGATOR_SERVER_STUDY_LOGIC_H_
#define SCANCOV_AGGREGATOR_SERVER_STUDY_LOGIC_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/server/store.h"
#include "aggregator/server/strategy.h"
#include "protocol/scancov.pb.h"
#include "protocol/study_kind.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

struct RoundOutcome {
  std::optional<protocol::TensorSet> weights;  // the new global model, if the round makes one
  Metrics metrics;                             // combined over sites
  std::string result_json;                     // combined statistics, if any
  bool study_done = false;
};

// A round's result_json may keep, under this top-level key, state the study logic needs only
// to replay its rounds after a restart (e.g. model selection's pooled answers, megabytes per
// round). The federation stores it with the round but leaves it out of the StudyStatus sent to
// the coordinator.
inline constexpr char kReplayKey[] = "_replay";

// One study's logic, created by its kind's factory from the study's spec (read once there).
class StudyLogic {
 public:
  virtual ~StudyLogic() = default;

  // Tasks of round `round` (site_id empty = the first study site to pull takes it). `history`
  // holds the study's closed rounds so far (oldest first), for logic whose next phase depends
  // on what the last round produced.
  virtual std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                            const std::string& input_checkpoint,
                                            const std::vector<RoundRecord>& history) const = 0;
  // An initialisation round: one task, closed by its one result, given to whichever study site
  // asks next when its holder misses the deadline.
  virtual bool IsInitRound(uint32_t round) const { return false; }
  // Kinds whose round 0 builds the one model they train: such a study may instead start from a
  // model the coordinator uploaded (TrainingPlan.initial_model_sha256). The federation then
  // closes round 0 with it and opens round 1; PlanRound(0) is not called.
  virtual bool StartsFromUploadedModel() const { return false; }
  // Rounds that combine model updates with a strategy (training kinds): the federation folds
  // each accepted update in as it arrives (aggregator/server/strategy.h: memory is the
  // strategy's accumulator, whatever the number of sites), keeps the strategy's state between
  // rounds, and sets the closed round's new model itself: CloseRound then receives the results
  // without their weights and must leave RoundOutcome::weights empty. Null: the round's results
  // reach CloseRound with their weights.
  virtual const AggregationStrategy* RoundStrategy(uint32_t round) const { return nullptr; }
  // A streamed round's upload: its weights were checked as they arrived (the round's model's
  // layout, every value finite); this checks the rest of the result (metrics, sample count).
  virtual absl::Status ValidateStreamedResult(const TaskRecord& task,
                                              const v1::UploadHeader& header) const {
    return absl::FailedPreconditionError("this study's rounds are not streamed");
  }
  // Checks an upload for `task` against the round's input model (null if none).
  virtual absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                                      const protocol::TensorSet* weights,
                                      const protocol::TensorSet* input) const = 0;
  // Secure aggregation of an analysis (protocol/wire/secure_sum.h; the kinds listed there):
  // closes a round from `sum`, the unmasked sum of the vectors of `summed_sites` sites.
  // `results`: the round's accepted results, each an answer's clear part (its numbers are in
  // the sum) or a refusal sent in clear, without weights. Unimplemented for a kind that does not
  // sum (CreateStudy refuses such a study).
  virtual absl::StatusOr<RoundOutcome> CloseSecureRound(
      const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
      const std::vector<ResultRecord>& results, const std::vector<double>& sum, size_t summed_sites,
      const std::vector<RoundRecord>& history) const {
    return absl::UnimplementedError("this study's answers are not securely aggregated");
  }
  // Combines a round's accepted results. `history` holds the study's earlier, closed rounds
  // (oldest first), for logic that iterates (e.g. federated Newton steps).
  virtual absl::StatusOr<RoundOutcome> CloseRound(
      const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
      const std::vector<ResultRecord>& results, const std::vector<RoundRecord>& history) const = 0;
};

// The study logics, by kind. A kind registers its factory in its own file
// (aggregator/studies/<kind>_study.cc) with SCANCOV_REGISTER_STUDY_LOGIC; the studies library
// collects them (aggregator/studies/registry.h) and the Federation is given the registry.
//
// A factory reads the study's spec once, refuses a spec outside the kind's bounds
// (InvalidArgument naming the field), and returns the study's logic, which keeps what it parsed.
using StudyLogicFactory =
    absl::StatusOr<std::unique_ptr<StudyLogic>> (*)(const v1::StudySpec& spec);

class StudyLogicRegistry {
 public:
  void Register(protocol::StudyKind kind, StudyLogicFactory factory);
  // The logic of a study whose spec names its kind (protocol::NormalizeStudyKind), wrapped by
  // Guarded (guarded_logic.h) so that an exception from malformed input becomes an error.
  // InvalidArgument for a spec the kind refuses, Unimplemented for a kind with no logic here.
  absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) const;

 private:
  std::map<protocol::StudyKind, StudyLogicFactory> factories_;
};

// In a kind's own file, at namespace scancov::aggregator scope:
//   SCANCOV_REGISTER_STUDY_LOGIC(logistic_regression, &LogisticStudyLogic::Create);
#define SCANCOV_REGISTER_STUDY_LOGIC(kind, factory)                                     \
  void RegisterStudyLogic_##kind(::scancov::aggregator::StudyLogicRegistry& registry) { \
    registry.Register(::scancov::protocol::StudyKind::kind, factory);                   \
  }

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_STUDY_LOGIC_H_
