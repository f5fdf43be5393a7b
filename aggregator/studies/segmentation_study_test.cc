#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aggregator/server/study_logic.h"
#include "aggregator/studies/registry.h"
#include "protocol/study_kind.h"
#include "protocol/wire/segmentation.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;

v1::StudySpec Spec(const std::string& spec_json) {
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  spec.set_study_kind(std::string(protocol::StudyKindName(protocol::StudyKind::segmentation)));
  spec.set_rounds(2);
  spec.mutable_plan()->set_model("unet2d");
  spec.mutable_plan()->set_local_epochs(1);
  spec.mutable_plan()->set_learning_rate(1e-3);
  spec.set_spec_json(spec_json);
  return spec;
}

// The aggregator refuses a malformed spec when the study is created, naming the field, instead
// of letting every site fail the task.
TEST(SegmentationStudyTest, MalformedSpecIsRefusedAtCreation) {
  wire::SegmentationSpec good;
  good.target = "lesions";
  EXPECT_TRUE(CreateStudyLogic(Spec(wire::ToJson(good))).ok());
  for (const auto& [bad, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"target": "airways"})", "target"},
           {R"({"in_plane": 4})", "in_plane"},
           {R"({"augment": "strong"})", "augment"},
           {R"({"model_config": [1]})", "model_config"}}) {
    const absl::Status s = CreateStudyLogic(Spec(bad)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr(field)) << bad;
  }
}

// An upload may carry only the metrics the study's target releases.
TEST(SegmentationStudyTest, UploadsCarryOnlyTheTargetsMetrics) {
  wire::SegmentationSpec lungs;
  absl::StatusOr<std::unique_ptr<StudyLogic>> logic = CreateStudyLogic(Spec(wire::ToJson(lungs)));
  ASSERT_TRUE(logic.ok()) << logic.status();
  TaskRecord task;
  task.kind = v1::TASK_KIND_EVALUATE;
  v1::UploadHeader header;
  (*header.mutable_metrics())[wire::kSegDiceLeft] = 0.9;
  (*header.mutable_metrics())[wire::kSegNVal] = 3;
  EXPECT_TRUE((*logic)->ValidateResult(task, header, nullptr, nullptr).ok());
  (*header.mutable_metrics())[wire::kSegLesionF1] = 0.5;  // a lesion metric from a lungs study
  EXPECT_THAT((*logic)->ValidateResult(task, header, nullptr, nullptr).message(),
              HasSubstr("global.lesion_f1"));
}

}  // namespace
}  // namespace scancov::aggregator
