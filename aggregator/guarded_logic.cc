#include "aggregator/guarded_logic.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

namespace scancov::aggregator {
namespace {

class GuardedStudyLogic : public StudyLogic {
 public:
  explicit GuardedStudyLogic(std::unique_ptr<StudyLogic> inner) : inner_(std::move(inner)) {}

  absl::Status ValidateSpec(const v1::StudySpec& spec) const override {
    try {
      return inner_->ValidateSpec(spec);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("spec_json is malformed: ", e.what()));
    }
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint) const override {
    try {
      return inner_->PlanRound(study, round, input_checkpoint);
    } catch (const std::exception& e) {
      spdlog::error("study {} round {}: planning failed: {}", study.study_id, round, e.what());
      return {};
    }
  }

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

 private:
  std::unique_ptr<StudyLogic> inner_;
};

}  // namespace

std::unique_ptr<StudyLogic> Guarded(std::unique_ptr<StudyLogic> logic) {
  return std::make_unique<GuardedStudyLogic>(std::move(logic));
}

}  // namespace scancov::aggregator
