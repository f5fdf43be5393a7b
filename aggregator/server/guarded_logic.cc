#include "aggregator/server/guarded_logic.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

namespace scancov::aggregator {
namespace {

class GuardedStudyLogic : public StudyLogic {
 public:
  explicit GuardedStudyLogic(std::unique_ptr<StudyLogic> inner) : inner_(std::move(inner)) {}

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    try {
      return inner_->PlanRound(study, round, input_checkpoint, history);
    } catch (const std::exception& e) {
      spdlog::error("study {} round {}: planning failed: {}", study.study_id, round, e.what());
      return {};
    }
  }

  bool IsInitRound(uint32_t round) const override { return inner_->IsInitRound(round); }
  bool StartsFromUploadedModel() const override { return inner_->StartsFromUploadedModel(); }
  const AggregationStrategy* RoundStrategy(uint32_t round) const override {
    return inner_->RoundStrategy(round);
  }
  absl::Status ValidateStreamedResult(const TaskRecord& task,
                                      const v1::UploadHeader& header) const override {
    return inner_->ValidateStreamedResult(task, header);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    try {
      return inner_->ValidateResult(task, header, weights, input);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("result of task ", task.task_id, " is malformed: ", e.what()));
    }
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    try {
      return inner_->CloseRound(study, round, input, results, history);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("combining the results failed: ", e.what()));
    }
  }

  absl::StatusOr<RoundOutcome> CloseSecureRound(
      const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
      const std::vector<ResultRecord>& results, const std::vector<double>& sum, size_t summed_sites,
      const std::vector<RoundRecord>& history) const override {
    try {
      return inner_->CloseSecureRound(study, round, input, results, sum, summed_sites, history);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("combining the results failed: ", e.what()));
    }
  }

 private:
  std::unique_ptr<StudyLogic> inner_;
};

}  // namespace

void StudyLogicRegistry::Register(protocol::StudyKind kind, StudyLogicFactory factory) {
  factories_[kind] = factory;
}

absl::StatusOr<std::unique_ptr<StudyLogic>> StudyLogicRegistry::Create(
    const v1::StudySpec& spec) const {
  absl::StatusOr<protocol::StudyKind> kind = protocol::StudyKindOf(spec);
  if (!kind.ok()) return kind.status();
  auto it = factories_.find(*kind);
  if (it == factories_.end()) {
    return absl::UnimplementedError(absl::StrCat("study kind '",
                                                 std::string(protocol::StudyKindName(*kind)),
                                                 "' has no study logic in this aggregator"));
  }
  try {
    absl::StatusOr<std::unique_ptr<StudyLogic>> logic = it->second(spec);
    if (!logic.ok()) return logic.status();
    return Guarded(std::move(*logic));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("spec_json is malformed: ", e.what()));
  }
}

std::unique_ptr<StudyLogic> Guarded(std::unique_ptr<StudyLogic> logic) {
  return std::make_unique<GuardedStudyLogic>(std::move(logic));
}

}  // namespace scancov::aggregator
