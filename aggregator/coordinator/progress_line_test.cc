#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aggregator/coordinator/report.h"
#include "protocol/wire/model_selection.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::StudyStatus Status(const std::string& spec_json, uint32_t rounds, uint32_t current) {
  v1::StudyStatus st;
  st.set_study_id("s");
  st.set_state(v1::STUDY_STATE_RUNNING);
  st.set_current_round(current);
  st.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
  st.mutable_spec()->set_rounds(rounds);
  st.mutable_spec()->set_spec_json(spec_json);
  return st;
}

TEST(ProgressLineTest, TrainingShowsItsTotalOpenEndedStudiesDoNot) {
  EXPECT_THAT(ProgressLine(Status(R"({"features": ["age"]})", 5, 2)), HasSubstr("round 2 of 6"));
  // AI-severity's PCA and Newton rounds come after its 2 training rounds: no "of 3".
  const std::string aisev = ProgressLine(Status(R"({"task": "ai_severity"})", 2, 10));
  EXPECT_THAT(aisev, HasSubstr("round 10"));
  EXPECT_THAT(aisev, Not(HasSubstr(" of ")));
  // A spec_json that is not JSON (or whose task is not a string) is not an error here.
  EXPECT_THAT(ProgressLine(Status("not json", 1, 1)), HasSubstr("round 1 of 2"));
  EXPECT_THAT(ProgressLine(Status(R"({"task": 3})", 1, 1)), HasSubstr("round 1 of 2"));
}

TEST(ProgressLineTest, ModelSelectionRoundsAreLabelledByStage) {
  wire::SelectionSpec spec;
  spec.outcome = "severe";
  spec.variables = {"age"};
  v1::StudyStatus st = Status(wire::ToJson(spec), 0, 3);
  st.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
  v1::RoundStatus* r = st.add_rounds();
  r->set_round(2);
  r->set_state("closed");
  r->mutable_metrics()->insert({"n", 1.0});
  wire::SelectionRoundResult result;
  result.stage = "fits";
  r->set_result_json(wire::ToJson(result));
  EXPECT_THAT(ProgressLine(st), HasSubstr("last closed: model selection: fits"));
  r->set_result_json(R"({"stage": 7})");  // not a string: no stage, no exception
  EXPECT_THAT(ProgressLine(st), HasSubstr("last closed: model selection"));
}

}  // namespace
}  // namespace scancov::aggregator
