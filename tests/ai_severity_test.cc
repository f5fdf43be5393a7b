// AI-severity end to end through the federation (in process): two sites train the slice
// encoder, the exact federated PCA and Newton fit run as rounds, a held-out site evaluates.
#include <nlohmann/json.hpp>

#include "aggregator/federation.h"
#include "aggregator/in_process_client.h"
#include "core/env.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/analysis_runner.h"
#include "node/severity_runner.h"
#include "sites/ct/phantom_volume.h"

namespace scancov {
namespace {

using aggregator::Caller;

// Tiny phantoms whose lesion burden depends on the outcome, as in a severe/non-severe cohort.
class PhantomPatients : public node::SeveritySource {
 public:
  PhantomPatients(uint64_t seed, int count) {
    Random rng(seed);
    for (int i = 0; i < count; ++i) {
      const int label = rng.Uniform() < 0.4 ? 1 : 0;
      sites::PhantomSpec spec;
      spec.seed = seed * 1000 + i;
      spec.scanner.rows = spec.scanner.columns = 64;
      spec.scanner.pixel_spacing_mm = 6.0;
      spec.scanner.number_of_slices = 16;
      spec.scanner.slice_thickness_mm = 10;
      const double extent = label ? 0.2 + 0.25 * rng.Uniform() : 0.08 * rng.Uniform();
      spec.disease.extent_right = extent;
      spec.disease.extent_left = extent * (0.7 + 0.6 * rng.Uniform());
      spec.disease.ggo_fraction = 0.6;
      spec.disease.crazy_paving_fraction = 0.2;
      spec.disease.consolidation_fraction = 0.2;
      spec.devices.endotracheal_tube = label == 1;  // devices outside the lungs must not help
      auto v = sites::GeneratePhantomVolume(spec);
      EXPECT_TRUE(v.ok()) << v.status();
      node::SeverityPatient p;
      p.patient_key = "p" + std::to_string(seed) + "-" + std::to_string(i);
      p.label = label;
      p.ct = HuVolume(64, 64, 16, {6.0, 6.0, 10.0});
      p.ct.voxels = v->hu;
      p.lungs = LabelVolume(64, 64, 16, {6.0, 6.0, 10.0});
      p.lungs.voxels = v->lung_labels;
      patients_.push_back(std::move(p));
    }
  }
  absl::StatusOr<std::vector<node::SeverityPatient>> Load(const std::string&) override {
    return patients_;
  }

 private:
  std::vector<node::SeverityPatient> patients_;
};

TEST(AiSeverityTest, EncoderPcaAndNewtonRoundsThenAHeldOutSiteEvaluates) {
  FakeClock clock;
  auto store = aggregator::AggregatorStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  aggregator::FederationOptions fo;
  fo.clock = &clock;
  aggregator::Federation federation(std::move(*store), fo);
  const Caller coordinator{Caller::Role::kCoordinator, "alice"};
  for (const char* s : {"a", "b", "held"}) {
    v1::EnrollSiteRequest r;
    r.set_site_id(s);
    ASSERT_TRUE(federation.EnrollSite(coordinator, r).ok());
  }
  v1::CreateStudyRequest req;
  v1::StudySpec& spec = *req.mutable_spec();
  spec.set_name("aisev");
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  spec.add_sites("a");
  spec.add_sites("b");
  spec.add_evaluation_sites("held");
  spec.set_rounds(2);
  spec.mutable_plan()->set_model("slice_encoder");
  spec.mutable_plan()->set_local_epochs(5);
  spec.mutable_plan()->set_batch_size(16);
  spec.mutable_plan()->set_learning_rate(1e-3);
  spec.mutable_plan()->set_seed(3);
  spec.set_spec_json(R"({"task": "ai_severity", "outcome": "severe", "pca_components": 6,
      "l2": 1.0, "validation_fraction": 0.25, "min_cell_count": 3,
      "encoder": {"window": "single", "slice_size": 64, "embedding_dim": 16}})");
  auto created = federation.CreateStudy(coordinator, req);
  ASSERT_TRUE(created.ok()) << created.status();

  std::vector<std::unique_ptr<PhantomPatients>> data;
  data.push_back(std::make_unique<PhantomPatients>(1, 30));
  data.push_back(std::make_unique<PhantomPatients>(2, 30));
  data.push_back(std::make_unique<PhantomPatients>(3, 24));
  const char* ids[] = {"a", "b", "held"};
  std::vector<std::unique_ptr<node::SeverityTaskRunner>> runners;
  std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients;
  std::vector<std::unique_ptr<node::NodeAgent>> agents;
  for (int i = 0; i < 3; ++i) {
    node::SeverityRunnerOptions o;
    o.site_id = ids[i];
    o.device = "cpu";
    o.policy.min_cell_count = 3;  // tiny test cohorts
    runners.push_back(std::make_unique<node::SeverityTaskRunner>(data[i].get(), o));
    clients.push_back(std::make_unique<aggregator::InProcessFederationClient>(
        &federation, Caller{Caller::Role::kSite, ids[i]}, 1 << 16));
    node::AgentOptions options;
    options.clock = &clock;
    agents.push_back(std::make_unique<node::NodeAgent>(clients[i].get(), runners[i].get(), nullptr,
                                                       nullptr, options));
  }
  v1::StudyStatus status;
  for (int step = 0; step < 80 && status.state() != v1::STUDY_STATE_DONE &&
                     status.state() != v1::STUDY_STATE_FAILED;
       ++step) {
    for (auto& agent : agents) ASSERT_TRUE(agent->RunOnce().ok());
    status = *federation.GetStudyStatus(coordinator, "aisev");
  }
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  // init, 2 training rounds, PCA, Newton steps, evaluation.
  ASSERT_GE(status.rounds_size(), 6);
  EXPECT_GT(status.rounds(3).metrics().at("pca.explained_variance"), 0.5);
  bool converged = false;
  for (const auto& r : status.rounds()) {
    const auto j = nlohmann::json::parse(r.result_json().empty() ? "{}" : r.result_json());
    converged |= j.contains("fit");
  }
  EXPECT_TRUE(converged);
  const v1::RoundStatus& final_round = *status.rounds().rbegin();
  for (const v1::SiteRoundStatus& s : final_round.sites()) {
    if (s.site_id() != "held") continue;
    EXPECT_EQ(s.metrics().at("global.n_val"), 24);
    EXPECT_GT(s.metrics().at("global.val_auc"), 0.8);
  }
}

}  // namespace
}  // namespace scancov
