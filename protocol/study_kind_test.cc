#include "protocol/study_kind.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace scancov::protocol {
namespace {

using ::testing::HasSubstr;

v1::StudySpec Spec(v1::StudyKind family, const std::string& kind, const std::string& json) {
  v1::StudySpec spec;
  spec.set_kind(family);
  spec.set_study_kind(kind);
  spec.set_spec_json(json);
  return spec;
}

TEST(StudyKindTest, EveryKindHasAUniqueNameThatParsesBack) {
  std::set<std::string> names;
  for (const StudyKindInfo& info : AllStudyKinds()) {
    EXPECT_TRUE(names.insert(std::string(info.name)).second) << info.name;
    absl::StatusOr<StudyKind> parsed = ParseStudyKind(info.name);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, info.kind);
    EXPECT_EQ(StudyKindName(info.kind), info.name);
  }
  EXPECT_GE(names.size(), 8u);
  const absl::Status unknown = ParseStudyKind("mind_reading").status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.message(), HasSubstr("unknown study kind 'mind_reading'"));
  EXPECT_THAT(unknown.message(), HasSubstr("logistic_regression"));
}

TEST(StudyKindTest, OlderSpecsNameTheKindInSpecJsonOrTakeTheFamilyDefault) {
  EXPECT_EQ(*StudyKindOf(Spec(v1::STUDY_KIND_ANALYSIS, "", "")), StudyKind::univariate_association);
  EXPECT_EQ(*StudyKindOf(Spec(v1::STUDY_KIND_ANALYSIS, "", R"({"analysis": "model_selection"})")),
            StudyKind::model_selection);
  EXPECT_EQ(*StudyKindOf(Spec(v1::STUDY_KIND_TRAINING, "", R"({"features": []})")),
            StudyKind::tabular_training);
  EXPECT_EQ(*StudyKindOf(Spec(v1::STUDY_KIND_TRAINING, "", R"({"task": "ai_severity"})")),
            StudyKind::ai_severity);
  EXPECT_EQ(*StudyKindOf(Spec(v1::STUDY_KIND_TRAINING, "segmentation", "{}")),
            StudyKind::segmentation);
}

TEST(StudyKindTest, ContradictionsAndWrongFamiliesAreRefused) {
  const absl::Status both = StudyKindOf(Spec(v1::STUDY_KIND_ANALYSIS, "logistic_regression",
                                             R"({"analysis": "model_evaluation"})"))
                                .status();
  EXPECT_EQ(both.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(both.message(), HasSubstr("model_evaluation"));
  EXPECT_FALSE(StudyKindOf(Spec(v1::STUDY_KIND_TRAINING, "logistic_regression", "{}")).ok());
  EXPECT_FALSE(StudyKindOf(Spec(v1::STUDY_KIND_ANALYSIS, "", R"({"analysis": 7})")).ok());
  EXPECT_FALSE(StudyKindOf(Spec(v1::STUDY_KIND_UNSPECIFIED, "", "{}")).ok());
}

TEST(StudyKindTest, NormalizeWritesTheKindAndTasksCarryIt) {
  v1::StudySpec spec = Spec(v1::STUDY_KIND_ANALYSIS, "", R"({"analysis": "model_evaluation"})");
  ASSERT_TRUE(NormalizeStudyKind(&spec).ok());
  EXPECT_EQ(spec.study_kind(), "model_evaluation");

  v1::Task task;
  task.set_kind(v1::TASK_KIND_ANALYZE);
  task.set_spec_json(R"({"task": "ai_severity"})");
  EXPECT_EQ(*StudyKindOf(task), StudyKind::ai_severity);  // an AI-severity Newton step
  task.set_study_kind("ai_severity");
  EXPECT_EQ(*StudyKindOf(task), StudyKind::ai_severity);
  task.set_study_kind("model_selection");
  task.set_spec_json(R"({"analysis": "logistic_regression"})");
  EXPECT_FALSE(StudyKindOf(task).ok());  // contradicts spec_json
}

}  // namespace
}  // namespace scancov::protocol
