#include "aggregator/guarded_logic.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;

// Reads a site's "reason" the careless way: value() throws when the field is not a string.
std::string Reason(const std::string& result_json) {
  return nlohmann::json::parse(result_json).value("reason", std::string());
}

class CarelessLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const override {
    Reason(spec.spec_json());
    return absl::OkStatus();
  }
  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t,
                                    const std::string&) const override {
    Reason(study.spec.spec_json());
    return {TaskRecord{}};
  }
  absl::Status ValidateResult(const TaskRecord&, const v1::UploadHeader& header,
                              const protocol::TensorSet*,
                              const protocol::TensorSet*) const override {
    Reason(header.result_json());
    return absl::OkStatus();
  }
  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord&, uint32_t, const protocol::TensorSet*,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>&) const override {
    if (results.empty()) throw std::runtime_error("no results");
    return RoundOutcome{};
  }
};

TEST(GuardedLogicTest, ExceptionsBecomeStatusesNamingWhatWasMalformed) {
  std::unique_ptr<StudyLogic> logic = Guarded(std::make_unique<CarelessLogic>());
  v1::StudySpec spec;
  spec.set_spec_json(R"({"reason": 42})");
  const absl::Status s = logic->ValidateSpec(spec);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("spec_json is malformed"));

  TaskRecord task;
  task.task_id = "t-7";
  v1::UploadHeader header;
  header.set_result_json(R"({"status": "refused", "reason": 42})");
  const absl::Status r = logic->ValidateResult(task, header, nullptr, nullptr);
  EXPECT_EQ(r.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.message(), HasSubstr("result of task t-7 is malformed"));

  StudyRecord study;
  study.study_id = "s";
  study.spec = spec;
  EXPECT_TRUE(logic->PlanRound(study, 1, "").empty());
  EXPECT_TRUE(logic->PlanRound(study, 1, "", {}).empty());

  absl::StatusOr<RoundOutcome> closed = logic->CloseRound(study, 3, nullptr, {}, {});
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(closed.status().message(), HasSubstr("combining the results failed: no results"));
}

TEST(GuardedLogicTest, WellFormedCallsPassThrough) {
  std::unique_ptr<StudyLogic> logic = Guarded(std::make_unique<CarelessLogic>());
  v1::StudySpec spec;
  spec.set_spec_json(R"({"reason": "too few events"})");
  EXPECT_TRUE(logic->ValidateSpec(spec).ok());
  StudyRecord study;
  study.spec = spec;
  EXPECT_EQ(logic->PlanRound(study, 1, "").size(), 1u);
  v1::UploadHeader header;
  header.set_result_json(R"({"status": "ok"})");
  EXPECT_TRUE(logic->ValidateResult(TaskRecord{}, header, nullptr, nullptr).ok());
  EXPECT_TRUE(logic->CloseRound(study, 1, nullptr, {ResultRecord{}}, {}).ok());
}

}  // namespace
}  // namespace scancov::aggregator
