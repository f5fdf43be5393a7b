#include "aggregator/server/guarded_logic.h"

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
  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    Reason(spec.spec_json());
    return std::make_unique<CarelessLogic>();
  }
  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t, const std::string&,
                                    const std::vector<RoundRecord>&) const override {
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
  absl::StatusOr<RoundOutcome> CloseSecureRound(const StudyRecord&, uint32_t,
                                                const protocol::TensorSet*,
                                                const std::vector<ResultRecord>&,
                                                const std::vector<double>& sum, size_t,
                                                const std::vector<RoundRecord>&) const override {
    if (sum.empty()) throw std::runtime_error("an empty sum");
    RoundOutcome out;
    out.metrics["sum"] = sum[0];
    return out;
  }
};

TEST(GuardedLogicTest, ExceptionsBecomeStatusesNamingWhatWasMalformed) {
  StudyLogicRegistry registry;
  registry.Register(protocol::StudyKind::univariate_association, &CarelessLogic::Create);
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  spec.set_spec_json(R"({"reason": 42})");
  const absl::Status s = registry.Create(spec).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("spec_json is malformed"));
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  EXPECT_EQ(registry.Create(spec).status().code(), absl::StatusCode::kUnimplemented);

  std::unique_ptr<StudyLogic> logic = Guarded(std::make_unique<CarelessLogic>());

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
  EXPECT_TRUE(logic->PlanRound(study, 1, "", {}).empty());

  absl::StatusOr<RoundOutcome> closed = logic->CloseRound(study, 3, nullptr, {}, {});
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(closed.status().message(), HasSubstr("combining the results failed: no results"));
}

TEST(GuardedLogicTest, WellFormedCallsPassThrough) {
  StudyLogicRegistry registry;
  registry.Register(protocol::StudyKind::univariate_association, &CarelessLogic::Create);
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  spec.set_spec_json(R"({"reason": "too few events"})");
  absl::StatusOr<std::unique_ptr<StudyLogic>> created = registry.Create(spec);
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<StudyLogic> logic = std::move(*created);
  StudyRecord study;
  study.spec = spec;
  EXPECT_EQ(logic->PlanRound(study, 1, "", {}).size(), 1u);
  v1::UploadHeader header;
  header.set_result_json(R"({"status": "ok"})");
  EXPECT_TRUE(logic->ValidateResult(TaskRecord{}, header, nullptr, nullptr).ok());
  EXPECT_TRUE(logic->CloseRound(study, 1, nullptr, {ResultRecord{}}, {}).ok());
  // Every StudyLogic call reaches the wrapped logic (a call the wrapper forgot would answer with
  // the base class's default).
  absl::StatusOr<RoundOutcome> secure =
      logic->CloseSecureRound(study, 1, nullptr, {}, {2.5}, 2, {});
  ASSERT_TRUE(secure.ok()) << secure.status();
  EXPECT_EQ(secure->metrics.at("sum"), 2.5);
  const absl::Status thrown = logic->CloseSecureRound(study, 1, nullptr, {}, {}, 0, {}).status();
  EXPECT_THAT(thrown.message(), HasSubstr("combining the results failed: an empty sum"));
}

}  // namespace
}  // namespace scancov::aggregator
