// Federated training of the lung U-Net: two sites train by FedAvg rounds on their own labelled
// CT phantoms, a third, held-out site only evaluates the final model on all of its series.
#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/tasks/registry.h"
#include "node/tasks/segmentation_runner.h"
#include "node/tasks/task_host.h"
#include "sites/ct/phantom_volume.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using aggregator::Caller;

// A site's labelled series: tiny phantoms (64 x 64 x 16) with varied anatomy and disease.
class PhantomSeries : public node::LabelledSeriesSource {
 public:
  PhantomSeries(uint64_t seed, int count, double pixel_mm) {
    for (int i = 0; i < count; ++i) {
      sites::PhantomSpec spec;
      spec.seed = seed * 100 + i;
      spec.scanner.rows = spec.scanner.columns = 64;
      spec.scanner.pixel_spacing_mm = pixel_mm;
      spec.scanner.number_of_slices = 16;
      spec.scanner.slice_thickness_mm = 10;
      spec.patient.body_scale = 0.9 + 0.05 * (i % 3);
      spec.disease.extent_right = 0.05 * (i % 4);
      spec.disease.extent_left = 0.04 * ((i + 1) % 4);
      auto v = sites::GeneratePhantomVolume(spec);
      EXPECT_TRUE(v.ok()) << v.status();
      node::LabelledSeries s;
      s.series_key = "s" + std::to_string(seed) + "-" + std::to_string(i);
      const std::array<double, 3> spacing = {pixel_mm, pixel_mm, 10.0};
      s.ct = HuVolume(64, 64, 16, spacing);
      s.ct.voxels = v->hu;
      s.lungs = LabelVolume(64, 64, 16, spacing);
      s.lungs.voxels = v->lung_labels;
      series_.push_back(std::move(s));
    }
  }
  absl::StatusOr<std::vector<node::LabelledSeries>> Load(const std::string& target,
                                                         int max_series) override {
    return series_;
  }

 private:
  std::vector<node::LabelledSeries> series_;
};

TEST(FederatedSegmentationTest, TwoSitesTrainTheLungUNetAHeldOutSiteEvaluatesIt) {
  FakeClock clock;
  auto store = aggregator::AggregatorStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  aggregator::FederationOptions fo;
  fo.studies = &aggregator::AllStudyLogics();
  fo.clock = &clock;
  aggregator::Federation federation(std::move(*store), fo);
  const Caller coordinator{Caller::Role::kCoordinator, "alice"};
  v1::TrainingPlan plan;
  plan.set_model("unet2d");
  plan.set_local_epochs(4);
  plan.set_batch_size(8);
  plan.set_learning_rate(3e-3);
  plan.set_seed(5);
  ASSERT_TRUE(testing_sites::CreateHeldOutTrainingStudy(
                  federation, "lungs", plan, 3,
                  R"({"task": "segmentation", "target": "lungs", "in_plane": 64,
      "validation_fraction": 0.25, "model_config": {"depth": 4, "base_channels": 8}})")
                  .ok());

  std::vector<std::unique_ptr<PhantomSeries>> data;
  data.push_back(std::make_unique<PhantomSeries>(1, 4, 6.0));
  data.push_back(std::make_unique<PhantomSeries>(2, 4, 6.3));  // another scanner's pixel size
  data.push_back(std::make_unique<PhantomSeries>(3, 3, 5.8));
  const char* ids[] = {"a", "b", "held"};
  std::vector<std::unique_ptr<node::TaskHost>> hosts;
  std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients;
  std::vector<std::unique_ptr<node::NodeAgent>> agents;
  for (int i = 0; i < 3; ++i) {
    node::NodeResources r;
    r.context.site_id = ids[i];
    r.context.device = "cpu";
    // Three or four phantoms a site: a minimum count of one series (what a smaller count
    // withholds: tests/disclosure_control_test.cc).
    r.context.policy.min_cell_count = 1;
    r.context.labelled_series = data[i].get();
    hosts.push_back(std::make_unique<node::TaskHost>(
        r, std::initializer_list<node::TaskPluginMaker>{&node::MakeTorchTasks}));
    clients.push_back(std::make_unique<aggregator::InProcessFederationClient>(
        &federation, Caller{Caller::Role::kSite, ids[i]}, 1 << 16));
    node::AgentOptions options;
    options.clock = &clock;
    agents.push_back(
        std::make_unique<node::NodeAgent>(clients[i].get(), &hosts[i]->gate(), nullptr, options));
  }
  v1::StudyStatus status;
  for (int step = 0; step < 40 && status.state() != v1::STUDY_STATE_DONE; ++step) {
    for (auto& agent : agents) ASSERT_TRUE(agent->RunOnce().ok());
    status = *federation.GetStudyStatus(coordinator, "lungs");
  }
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  const v1::RoundStatus& final_round = *status.rounds().rbegin();
  ASSERT_EQ(final_round.sites_size(), 3);
  for (const v1::SiteRoundStatus& s : final_round.sites()) {
    if (s.site_id() != "held") continue;
    EXPECT_EQ(s.metrics().at("global.n_val"), 3);  // every series of the held-out site
    EXPECT_GT(s.metrics().at("global.lung_accuracy"), 0.95);
    EXPECT_GT(s.metrics().at("global.dice_right"), 0.8);
    EXPECT_GT(s.metrics().at("global.dice_left"), 0.8);
  }
  // The model improved over the rounds (round 1 evaluates the initial weights).
  EXPECT_GT(final_round.metrics().at("global.lung_accuracy"),
            status.rounds(1).metrics().at("global.lung_accuracy"));
}

}  // namespace
}  // namespace scancov
