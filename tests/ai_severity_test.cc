// AI-severity end to end through the federation (in process): two sites train the slice
// encoder(s), the exact federated PCA and Newton fit run as rounds, a held-out site evaluates;
// and the seed's ensemble of two window settings, whose members must be the models that studies
// of each config alone train, and whose AUC is that of the averaged probabilities.
#include <Eigen/Dense>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "gtest/gtest.h"
#include "models/nn/severity_encoder.h"
#include "node/agent.h"
#include "node/tasks/severity_runner.h"
#include "tests/severity_phantoms.h"

namespace scancov {
namespace {

using aggregator::Caller;
using json = nlohmann::json;
using testing_sites::Member;
using testing_sites::PhantomPatients;
using testing_sites::RecomputedProbabilities;
using StudyRun = testing_sites::SeverityStudyRun;

StudyRun RunStudy(const std::string& spec_json, uint32_t rounds, uint32_t epochs,
                  const std::vector<PhantomPatients*>& data) {
  return testing_sites::RunSeverityStudy(spec_json, rounds, epochs, data);
}

// Member m's fit ("fit" of the Newton round where it converged), or null.
json MemberFit(const v1::StudyStatus& status, size_t m) {
  for (const auto& r : status.rounds()) {
    const json j = json::parse(r.result_json().empty() ? "{}" : r.result_json());
    if (j.value("phase", "") != "newton") continue;
    const json& member = j.at("members").at(m);
    if (member.contains("fit")) return member.at("fit");
  }
  return json();
}

const v1::SiteRoundStatus* FinalHeldSite(const v1::StudyStatus& status) {
  if (status.rounds().empty()) return nullptr;
  for (const v1::SiteRoundStatus& s : status.rounds().rbegin()->sites()) {
    if (s.site_id() == "held") return &s;
  }
  return nullptr;
}

TEST(AiSeverityTest, EncoderPcaAndNewtonRoundsThenAHeldOutSiteEvaluates) {
  // About 22 training patients at a and at b (the sites' own splits): enough for 6 x 6 PCA sums
  // and a 6 x 6 Newton step at a minimum count of 3 (issue 12: d x 3 patients, 18).
  PhantomPatients a(1, 30), b(2, 30), held(3, 24);
  const StudyRun run = RunStudy(R"({"task": "ai_severity", "outcome": "severe",
      "pca_components": 5, "l2": 1.0, "validation_fraction": 0.2, "min_cell_count": 3,
      "encoder": {"window": "single", "slice_size": 64, "embedding_dim": 6}})",
                                2, 5, {&a, &b, &held});
  const v1::StudyStatus& status = run.status;
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  // init, 2 training rounds, PCA, Newton steps, evaluation.
  ASSERT_GE(status.rounds_size(), 6);
  EXPECT_GT(status.rounds(3).metrics().at("pca.explained_variance"), 0.5);
  EXPECT_FALSE(MemberFit(status, 0).is_null());
  // One member: its tensors under "m0/", its metrics without a suffix.
  EXPECT_NE(run.checkpoint.Find("m0/beta"), nullptr);
  EXPECT_EQ(run.checkpoint.Find("beta"), nullptr);
  const v1::SiteRoundStatus* s = FinalHeldSite(status);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->metrics().at("global.n_val"), 24);
  EXPECT_GT(s->metrics().at("global.val_auc"), 0.8);
  EXPECT_EQ(s->metrics().count("global.val_auc_m0"), 0u);
}

// Mann-Whitney: the share of (severe, non-severe) pairs ranked right, ties counting one half.
double MannWhitneyAuc(const std::vector<double>& score, const std::vector<int>& label) {
  double right = 0, pairs = 0;
  for (size_t i = 0; i < score.size(); ++i) {
    for (size_t j = 0; j < score.size(); ++j) {
      if (label[i] != 1 || label[j] != 0) continue;
      pairs += 1;
      right += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
    }
  }
  return right / pairs;
}

TEST(AiSeverityTest, TwoWindowSettingsEnsembledEachMemberAsItsOwnStudy) {
  // 10 and 12 training patients: 3 x 3 PCA sums and 3 x 3 Newton steps at a minimum count of 3
  // (issue 12: d x 3 patients).
  PhantomPatients a(11, 16, true), b(12, 16, true), held(13, 20, true);
  const std::string single = R"({"window": "single", "slice_size": 32, "embedding_dim": 3,
      "base_channels": 4})";
  const std::string three = R"({"window": "three", "slice_size": 32, "embedding_dim": 3,
      "base_channels": 4})";
  const std::string common = R"("task": "ai_severity", "outcome": "severe", "pca_components": 2,
      "l2": 1.0, "validation_fraction": 0.25, "min_cell_count": 3)";
  const StudyRun ensemble = RunStudy(
      "{" + common + R"(, "encoders": [)" + single + ", " + three + "]}", 1, 2, {&a, &b, &held});
  const StudyRun alone_single =
      RunStudy("{" + common + R"(, "encoder": )" + single + "}", 1, 2, {&a, &b, &held});
  const StudyRun alone_three =
      RunStudy("{" + common + R"(, "encoders": [)" + three + "]}", 1, 2, {&a, &b, &held});
  ASSERT_EQ(ensemble.status.state(), v1::STUDY_STATE_DONE) << ensemble.status.message();
  ASSERT_EQ(alone_single.status.state(), v1::STUDY_STATE_DONE) << alone_single.status.message();
  ASSERT_EQ(alone_three.status.state(), v1::STUDY_STATE_DONE) << alone_three.status.message();

  // The members are independent and correctly prefixed: member 0 is the single-window study's
  // model, member 1 the three-window study's, tensor for tensor (encoder, PCA and beta).
  const StudyRun* alone[] = {&alone_single, &alone_three};
  EXPECT_EQ(ensemble.checkpoint.tensors().size(),
            alone_single.checkpoint.tensors().size() + alone_three.checkpoint.tensors().size());
  for (size_t m = 0; m < 2; ++m) {
    const protocol::TensorSet mine = Member(ensemble.checkpoint, m);
    const protocol::TensorSet theirs = Member(alone[m]->checkpoint, 0);
    ASSERT_EQ(mine.tensors().size(), theirs.tensors().size()) << "member " << m;
    EXPECT_NE(mine.Find("pca.components"), nullptr);
    for (const protocol::Tensor& t : theirs.tensors()) {
      const protocol::Tensor* u = mine.Find(t.name);
      ASSERT_NE(u, nullptr) << "member " << m << ": " << t.name;
      EXPECT_EQ(u->shape, t.shape) << t.name;
      EXPECT_EQ(protocol::ToDoubles(*u), protocol::ToDoubles(t))
          << "member " << m << ": " << t.name;
    }
    const json fit = MemberFit(ensemble.status, m), their_fit = MemberFit(alone[m]->status, 0);
    ASSERT_FALSE(fit.is_null()) << "member " << m;
    EXPECT_EQ(fit.at("coefficients"), their_fit.at("coefficients")) << "member " << m;
    EXPECT_EQ(fit.at("iterations"), their_fit.at("iterations"));
  }
  // The two window settings are different models.
  EXPECT_NE(protocol::ToDoubles(*Member(ensemble.checkpoint, 0).Find("beta")),
            protocol::ToDoubles(*Member(ensemble.checkpoint, 1).Find("beta")));

  const v1::SiteRoundStatus* s = FinalHeldSite(ensemble.status);
  const v1::SiteRoundStatus* s0 = FinalHeldSite(alone_single.status);
  const v1::SiteRoundStatus* s1 = FinalHeldSite(alone_three.status);
  ASSERT_TRUE(s && s0 && s1);
  EXPECT_EQ(s->metrics().at("global.val_auc_m0"), s0->metrics().at("global.val_auc"));
  EXPECT_EQ(s->metrics().at("global.val_auc_m1"), s1->metrics().at("global.val_auc"));

  // The ensemble's AUC is the AUC of the averaged probabilities, recomputed here on the held-out
  // site's scans from the final checkpoint.
  const std::vector<nn::SeverityScan>& scans = held.scans();
  std::vector<int> labels;
  for (const nn::SeverityScan& scan : scans) labels.push_back(scan.label);
  const std::vector<double> p0 = RecomputedProbabilities(ensemble.checkpoint, 0, single, scans);
  const std::vector<double> p1 = RecomputedProbabilities(ensemble.checkpoint, 1, three, scans);
  std::vector<double> mean;
  for (size_t i = 0; i < scans.size(); ++i) mean.push_back((p0[i] + p1[i]) / 2);
  EXPECT_NEAR(s->metrics().at("global.val_auc_m0"), MannWhitneyAuc(p0, labels), 1e-12);
  EXPECT_NEAR(s->metrics().at("global.val_auc_m1"), MannWhitneyAuc(p1, labels), 1e-12);
  EXPECT_NEAR(s->metrics().at("global.val_auc"), MannWhitneyAuc(mean, labels), 1e-12);
  // On these overlapping cohorts the ensemble ranks the patients unlike either member, so the
  // check above is not a member's AUC again.
  EXPECT_NE(s->metrics().at("global.val_auc"), s->metrics().at("global.val_auc_m0"));
  EXPECT_NE(s->metrics().at("global.val_auc"), s->metrics().at("global.val_auc_m1"));
  // Each member's metrics are reported beside the ensemble's, and the report shows both.
  EXPECT_TRUE(ensemble.status.rounds(2).metrics().contains("pca.explained_variance_m1"));
  const std::string report = aggregator::StudyReportMarkdown(ensemble.status);
  EXPECT_NE(report.find("## AI-severity ensemble"), std::string::npos);
  EXPECT_NE(report.find("| m1 | three |"), std::string::npos) << report;
  EXPECT_NE(
      report.find("| held | 20 | " + absl::StrFormat("%.4f", s->metrics().at("global.val_auc")) +
                  " | " + absl::StrFormat("%.4f", s->metrics().at("global.val_auc_m0")) + " | " +
                  absl::StrFormat("%.4f", s->metrics().at("global.val_auc_m1")) + " |"),
      std::string::npos)
      << report;
}

TEST(AiSeverityTest, RefusesIdenticalMembersAndBothEncoderForms) {
  FakeClock clock;
  auto store = aggregator::AggregatorStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  aggregator::FederationOptions fo;
  fo.studies = &aggregator::AllStudyLogics();
  fo.clock = &clock;
  aggregator::Federation federation(std::move(*store), fo);
  const Caller coordinator{Caller::Role::kCoordinator, "alice"};
  v1::EnrollSiteRequest r;
  r.set_site_id("a");
  ASSERT_TRUE(federation.EnrollSite(coordinator, r).ok());
  for (const char* bad : {
           R"({"task": "ai_severity", "outcome": "severe",
               "encoders": [{"window": "three"}, {"window": "three"}]})",
           R"({"task": "ai_severity", "outcome": "severe", "encoders": []})",
           R"({"task": "ai_severity", "outcome": "severe", "encoders": {"window": "three"}})",
           R"({"task": "ai_severity", "outcome": "severe", "encoder": {},
               "encoders": [{"window": "three"}]})"}) {
    v1::CreateStudyRequest req;
    req.mutable_spec()->set_name("bad");
    req.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
    req.mutable_spec()->add_sites("a");
    req.mutable_spec()->set_rounds(1);
    req.mutable_spec()->mutable_plan()->set_model("slice_encoder");
    req.mutable_spec()->set_spec_json(bad);
    EXPECT_EQ(federation.CreateStudy(coordinator, req).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace scancov
