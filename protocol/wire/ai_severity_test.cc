#include "protocol/wire/ai_severity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

namespace scancov::wire {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Spec() {
  return json::parse(R"({"task": "ai_severity", "outcome": "severe",
    "encoders": [{"window": "single"}, {"window": "three"}], "pca_components": 6, "l2": 0.5,
    "max_newton": 20, "validation_fraction": 0.25, "min_cell_count": 3})");
}

TEST(AiSeverityWireTest, SpecRoundTripAndMemberForms) {
  absl::StatusOr<AiSeveritySpec> spec = ParseAiSeveritySpec(Spec().dump());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->members(), 2);
  EXPECT_EQ(spec->encoders[1], R"({"window":"three"})");  // the node's cache key
  EXPECT_EQ(spec->pca_components, 6);
  EXPECT_EQ(spec->logistic.l2_penalty, 0.5);
  EXPECT_EQ(spec->logistic.max_iterations, 20);
  EXPECT_EQ(json::parse(ToJson(*spec)), Spec());

  // One config, or none (the default config): an ensemble of one.
  absl::StatusOr<AiSeveritySpec> one =
      ParseAiSeveritySpec(R"({"outcome": "severe", "encoder": {"window": "three"}})");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->encoders, std::vector<std::string>{R"({"window":"three"})"});
  EXPECT_EQ(json::parse(ToJson(*one)).at("encoder"), json::parse(R"({"window": "three"})"));
  absl::StatusOr<AiSeveritySpec> none = ParseAiSeveritySpec(R"({"outcome": "death"})");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->encoders, std::vector<std::string>{""});
  EXPECT_EQ(none->pca_components, 40);
  EXPECT_EQ(none->logistic.l2_penalty, 1.0);
  EXPECT_EQ(none->logistic.max_iterations, 30);
  EXPECT_FALSE(json::parse(ToJson(*none)).contains("encoder"));
  EXPECT_EQ(ParseAiSeveritySpec(ToJson(*none))->encoders, none->encoders);
}

TEST(AiSeverityWireTest, SpecBoundsNameTheField) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& j) { j["task"] = "segmentation"; }, "task"},
      {[](json& j) { j.erase("outcome"); }, "outcome"},
      {[](json& j) { j["encoder"] = json::object(); }, "not both"},
      {[](json& j) { j["encoders"] = json::array(); }, "encoders"},
      {[](json& j) {
         j["encoders"] = {{"window", "three"}};
       },
       "encoders"},  // an object
      {[](json& j) { j["encoders"][1] = j["encoders"][0]; }, "identical"},
      {[](json& j) { j["encoders"][1] = "three"; }, "encoders[1]"},
      {[](json& j) { j["encoders"] = std::vector<json>(9, json::object()); }, "encoders"},
      {[](json& j) {
         j.erase("encoders");
         j["encoder"] = 3;
       },
       "encoder must be an object"},
      {[](json& j) { j["pca_components"] = 0; }, "pca_components"},
      {[](json& j) { j["pca_components"] = 513; }, "pca_components"},
      {[](json& j) { j["l2"] = -1; }, "l2"},
      {[](json& j) { j["max_newton"] = 0; }, "max_newton"},
      {[](json& j) { j["validation_fraction"] = 1.5; }, "validation_fraction"},
      {[](json& j) { j["min_cell_count"] = -1; }, "min_cell_count"},
  };
  for (const auto& [edit, field] : cases) {
    json j = Spec();
    edit(j);
    const absl::Status s = ParseAiSeveritySpec(j.dump()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << j.dump();
    EXPECT_THAT(s.message(), HasSubstr(field)) << j.dump();
  }
}

TEST(AiSeverityWireTest, CheckpointLayout) {
  AiSeverityHead head;
  head.pca.mean = Eigen::Vector3d(1, 2, 3);
  head.pca.components.resize(2, 3);
  head.pca.components << 1, 0, 0, 0, 0.6, 0.8;
  head.pca.scale = Eigen::Vector2d(2, 0.5);
  head.beta = {0.1, -0.2, 0.3};
  protocol::TensorSet checkpoint;
  ASSERT_TRUE(
      checkpoint
          .Add(protocol::FromDoubles("m1/conv.weight", {2}, protocol::DType::kFloat32, {1, 2}))
          .ok());
  for (protocol::Tensor& t : AiSeverityHeadTensors(1, head)) ASSERT_TRUE(checkpoint.Add(t).ok());
  EXPECT_NE(checkpoint.Find("m1/pca.components"), nullptr);
  EXPECT_EQ(AiSeverityMemberOf("m1/pca.mean", 2), 1);
  EXPECT_EQ(AiSeverityMemberOf("m2/pca.mean", 2), -1);
  EXPECT_EQ(AiSeverityMemberOf("conv.weight", 2), -1);

  const protocol::TensorSet member = AiSeverityMemberTensors(checkpoint, 1);
  EXPECT_TRUE(HasAiSeverityHead(member));
  EXPECT_FALSE(HasAiSeverityHead(AiSeverityMemberTensors(checkpoint, 0)));
  const protocol::TensorSet encoder = AiSeverityEncoderTensors(member);
  ASSERT_EQ(encoder.tensors().size(), 1u);
  EXPECT_EQ(encoder.tensors()[0].name, "conv.weight");
  absl::StatusOr<AiSeverityHead> back = ReadAiSeverityHead(member);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->pca.components, head.pca.components);
  EXPECT_EQ(back->pca.mean, head.pca.mean);
  EXPECT_EQ(back->beta, head.beta);
  protocol::TensorSet again;
  ASSERT_TRUE(AddAiSeverityMemberTensors(member, 1, &again).ok());
  EXPECT_TRUE(again.CheckSameLayout(checkpoint).ok());

  // A head of inconsistent sizes, or missing a tensor, is refused naming it.
  protocol::TensorSet short_beta;
  for (const protocol::Tensor& t : member.tensors()) {
    const bool beta = t.name == kAiSeverityBeta;
    ASSERT_TRUE(short_beta
                    .Add(beta ? protocol::FromDoubles(kAiSeverityBeta, {1},
                                                      protocol::DType::kFloat64, {1.0})
                              : t)
                    .ok());
  }
  EXPECT_THAT(ReadAiSeverityHead(short_beta).status().message(), HasSubstr("beta sizes differ"));
  EXPECT_THAT(ReadAiSeverityHead(encoder).status().message(), HasSubstr("'pca.mean'"));
  EXPECT_EQ(AiSeverityMemberMetric(kAiSeverityValAuc, 1, 2), "global.val_auc_m1");
  EXPECT_EQ(AiSeverityMemberMetric(kAiSeverityValAuc, 0, 1), "global.val_auc");
}

stats::LogisticSiteSummary Summary() {
  stats::LogisticSiteSummary s;
  s.beta = {0, 0};
  s.gradient = {1.5, -0.5};
  s.information = {4, 1, 1, 3};
  s.log_likelihood = -20.5;
  s.weight_sum = 30;
  s.num_observations = 30;
  s.num_events = 12;
  return s;
}

TEST(AiSeverityWireTest, AnswersRoundTripAndChecks) {
  AiSeverityAnswer pca;
  pca.phase = "pca";
  pca.pca = {{3, {1, 2}, {1, 2, 2, 4}}, {3, {0.5}, {0.25}}};
  const std::string pca_text = ToJson(pca);
  absl::StatusOr<AiSeverityAnswer> back = ParseAiSeverityAnswer(pca_text, 2);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), pca_text);
  const stats::PcaSums sums = ToPcaSums(back->pca[0]);
  EXPECT_EQ(sums.n, 3);
  EXPECT_EQ(sums.cross(0, 1), 2);

  AiSeverityAnswer newton;
  newton.phase = "newton";
  newton.newton = {Summary(), Summary()};
  const std::string newton_text = ToJson(newton);
  back = ParseAiSeverityAnswer(newton_text, 2);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), newton_text);

  AiSeverityAnswer refused;
  refused.status = "refused";
  refused.reason = "fewer events or non-events than the minimum";
  back = ParseAiSeverityAnswer(ToJson(refused), 2);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->reason, refused.reason);

  const json p = json::parse(pca_text), n = json::parse(newton_text);
  const std::vector<std::pair<json, std::string>> cases = {
      {json::object(), "status"},
      {json{{"status", "ok"}, {"phase", "train"}, {"members", p.at("members")}}, "phase"},
      {json{{"status", "ok"}, {"phase", "pca"}, {"members", {p.at("members")[0]}}}, "per member"},
      {[&] {
         json j = p;
         j["members"][1]["cross"] = {1, 2};
         return j;
       }(),
       "member 1: cross"},
      {[&] {
         json j = p;
         j["members"][0]["sum"][0] = "x";
         return j;
       }(),
       "member 0: sum"},
      {[&] {
         json j = p;
         j["members"][0]["n"] = -1;
         return j;
       }(),
       "member 0: n"},
      {[&] {
         json j = n;
         j["members"][1]["summary"]["information"] = {1, 2};
         return j;
       }(),
       "member 1: summary"},
      {[&] {
         json j = n;
         j["members"][0].erase("summary");
         return j;
       }(),
       "summary is required"},
  };
  for (const auto& [j, field] : cases) {
    const absl::Status s = ParseAiSeverityAnswer(j.dump(), 2).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << j.dump();
    EXPECT_THAT(s.message(), HasSubstr(field)) << j.dump();
  }
}

TEST(AiSeverityWireTest, RoundResultsRoundTrip) {
  AiSeverityRound pca;
  pca.phase = "pca";
  pca.next = "newton";
  pca.pca = {{6, 0.81}, {5, 0.77}};
  absl::StatusOr<AiSeverityRound> back = ParseAiSeverityRound(ToJson(pca));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(pca));
  EXPECT_EQ(back->pca[1].components, 5);

  AiSeverityRound newton;
  newton.phase = "newton";
  newton.next = "evaluate";
  AiSeverityNewtonMember done;
  done.pooled_summary = Summary();
  done.fit = AiSeverityFit{4, 30, 12, -18.25, {0.1, 0.2}};
  AiSeverityNewtonMember waiting;
  waiting.waiting = true;
  newton.newton = {done, waiting};
  back = ParseAiSeverityRound(ToJson(newton));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(newton));
  EXPECT_EQ(back->newton[0].fit->iterations, 4);
  EXPECT_TRUE(back->newton[1].waiting);

  AiSeverityRound evaluated;
  evaluated.phase = "evaluate";
  evaluated.members = 2;
  EXPECT_EQ(json::parse(ToJson(evaluated)), json::parse(R"({"phase": "evaluate", "members": 2})"));
  EXPECT_EQ(ParseAiSeverityRound(ToJson(evaluated))->members, 2);

  for (const char* bad : {R"({"phase": "train"})", R"({"phase": "pca", "members": 3})",
                          R"({"phase": "newton", "members": [{"fit": {"iterations": -1}}]})",
                          R"({"phase": "evaluate", "members": 99})", "[]"}) {
    EXPECT_EQ(ParseAiSeverityRound(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace scancov::wire
