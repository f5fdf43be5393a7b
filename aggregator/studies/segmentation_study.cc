// The segmentation kind at the aggregator: plain federated training rounds (training_rounds.h) of
// a lung or lesion segmentation network on the sites' labelled CT series
// (node/tasks/segmentation_task.cc). The spec (protocol/wire/segmentation.h) is read once, at
// CreateStudy; a site's upload may carry only the metrics its target releases.
#include <set>

#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/training_rounds.h"
#include "core/status_macros.h"
#include "protocol/wire/segmentation.h"

namespace scancov::aggregator {
namespace {

class SegmentationStudy : public StudyLogic {
 public:
  SegmentationStudy(wire::SegmentationSpec spec, std::unique_ptr<StudyLogic> rounds)
      : spec_(std::move(spec)), rounds_(std::move(rounds)) {
    const std::vector<std::string> names = wire::SegmentationMetricNames(spec_.target);
    metrics_.insert(names.begin(), names.end());
  }

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    SCV_ASSIGN_OR_RETURN(wire::SegmentationSpec parsed,
                         wire::ParseSegmentationSpec(spec.spec_json()));
    SCV_ASSIGN_OR_RETURN(std::unique_ptr<StudyLogic> rounds, CreateTrainingRounds(spec));
    return std::make_unique<SegmentationStudy>(std::move(parsed), std::move(rounds));
  }

  bool IsInitRound(uint32_t round) const override { return rounds_->IsInitRound(round); }
  bool StartsFromUploadedModel() const override { return rounds_->StartsFromUploadedModel(); }
  const AggregationStrategy* RoundStrategy(uint32_t round) const override {
    return rounds_->RoundStrategy(round);
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    return rounds_->PlanRound(study, round, input_checkpoint, history);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    SCV_RETURN_IF_ERROR(CheckMetricNames(header));
    return rounds_->ValidateResult(task, header, weights, input);
  }

  absl::Status ValidateStreamedResult(const TaskRecord& task,
                                      const v1::UploadHeader& header) const override {
    SCV_RETURN_IF_ERROR(CheckMetricNames(header));
    return rounds_->ValidateStreamedResult(task, header);
  }

  absl::Status CheckMetricNames(const v1::UploadHeader& header) const {
    for (const auto& [name, value] : header.metrics()) {
      if (!metrics_.count(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "metric '", name, "' is not one a segmentation study of ", spec_.target, " releases"));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    return rounds_->CloseRound(study, round, input, results, history);
  }

 private:
  const wire::SegmentationSpec spec_;
  const std::unique_ptr<StudyLogic> rounds_;
  std::set<std::string> metrics_;  // what the target releases
};

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(segmentation, &SegmentationStudy::Create);

}  // namespace scancov::aggregator
