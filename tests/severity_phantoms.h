// Test helpers for AI-severity: phantom cohorts whose lesion burden depends on the outcome, one
// AI-severity study run over a fresh in-process federation, and the probabilities a finished
// study's checkpoint gives, recomputed from its weights outside the node's runner.
#ifndef SCANCOV_TESTS_SEVERITY_PHANTOMS_H_
#define SCANCOV_TESTS_SEVERITY_PHANTOMS_H_

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "gtest/gtest.h"
#include "models/nn/severity_encoder.h"
#include "node/agent.h"
#include "node/tasks/registry.h"
#include "node/tasks/severity_runner.h"
#include "node/tasks/task_host.h"
#include "sites/ct/phantom_volume.h"
#include "tests/test_sites.h"

namespace scancov::testing_sites {

// Tiny phantoms whose lesion burden depends on the outcome, as in a severe/non-severe cohort;
// with `overlap` the two burdens overlap, so that no model ranks every patient right.
class PhantomPatients : public node::SeveritySource {
 public:
  // `count` patients "p<seed>-<i>", severe with probability 0.4.
  PhantomPatients(uint64_t seed, int count, bool overlap = false) {
    Random rng(seed);
    for (int i = 0; i < count; ++i) {
      const int label = rng.Uniform() < 0.4 ? 1 : 0;
      Add("p" + std::to_string(seed) + "-" + std::to_string(i), label, seed * 1000 + i, overlap,
          rng);
    }
  }
  // One phantom per given patient key and outcome (e.g. a synthetic site's own patients).
  PhantomPatients(uint64_t seed, const std::vector<std::string>& keys,
                  const std::vector<int>& labels, bool overlap) {
    Random rng(seed);
    for (size_t i = 0; i < keys.size(); ++i) Add(keys[i], labels[i], seed * 1000 + i, overlap, rng);
  }
  PhantomPatients(const PhantomPatients&) = delete;  // the patients' loaders point here
  PhantomPatients& operator=(const PhantomPatients&) = delete;

  absl::StatusOr<std::vector<node::SeverityPatient>> Load(const std::string&) override {
    ++loads_;
    std::vector<node::SeverityPatient> out;
    for (size_t i = 0; i < scans_.size(); ++i) {
      node::SeverityPatient p;
      p.patient_key = keys_[i];
      p.scan_id = "scan-" + keys_[i];
      p.label = scans_[i].label;
      p.load = [this, i]() -> absl::StatusOr<nn::SeverityScan> {
        ++reads_;
        return scans_[i];
      };
      out.push_back(std::move(p));
    }
    return out;
  }
  const std::vector<std::string>& keys() const { return keys_; }
  const std::vector<nn::SeverityScan>& scans() const { return scans_; }
  // How many times the source was asked for its patients, and how many CTs were read.
  int loads() const { return loads_; }
  int reads() const { return reads_; }

 private:
  void Add(const std::string& key, int label, uint64_t phantom_seed, bool overlap, Random& rng) {
    sites::PhantomSpec spec;
    spec.seed = phantom_seed;
    spec.scanner.rows = spec.scanner.columns = 64;
    spec.scanner.pixel_spacing_mm = 6.0;
    spec.scanner.number_of_slices = 16;
    spec.scanner.slice_thickness_mm = 10;
    const double extent = overlap ? (label ? 0.04 + 0.2 * rng.Uniform() : 0.16 * rng.Uniform())
                                  : (label ? 0.2 + 0.25 * rng.Uniform() : 0.08 * rng.Uniform());
    spec.disease.extent_right = extent;
    spec.disease.extent_left = extent * (0.7 + 0.6 * rng.Uniform());
    spec.disease.ggo_fraction = 0.6;
    spec.disease.crazy_paving_fraction = 0.2;
    spec.disease.consolidation_fraction = 0.2;
    spec.devices.endotracheal_tube = label == 1;  // devices outside the lungs must not help
    auto v = sites::GeneratePhantomVolume(spec);
    EXPECT_TRUE(v.ok()) << v.status();
    nn::SeverityScan scan;
    scan.label = label;
    scan.ct = HuVolume(64, 64, 16, {6.0, 6.0, 10.0});
    scan.ct.voxels = v->hu;
    scan.lungs = LabelVolume(64, 64, 16, {6.0, 6.0, 10.0});
    scan.lungs.voxels = v->lung_labels;
    keys_.push_back(key);
    scans_.push_back(std::move(scan));
  }

  std::vector<std::string> keys_;
  std::vector<nn::SeverityScan> scans_;
  int loads_ = 0, reads_ = 0;
};

struct SeverityStudyRun {
  v1::StudyStatus status;
  protocol::TensorSet checkpoint;  // the last one
};

// One AI-severity study "aisev" over a fresh in-process federation: sites "a" and "b" train on
// data[0] and data[1], "held" (never trained on) evaluates on data[2]. With `score_stores` (one
// per site, or none), each site keeps its patients' AI-severity scores there.
inline SeverityStudyRun RunSeverityStudy(const std::string& spec_json, uint32_t rounds,
                                         uint32_t epochs, const std::vector<PhantomPatients*>& data,
                                         const std::vector<node::NodeStore*>& score_stores = {}) {
  using aggregator::Caller;
  SeverityStudyRun run;
  FakeClock clock;
  auto store = aggregator::AggregatorStore::Open(":memory:");
  EXPECT_TRUE(store.ok());
  aggregator::FederationOptions fo;
  fo.studies = &aggregator::AllStudyLogics();
  fo.clock = &clock;
  aggregator::Federation federation(std::move(*store), fo);
  const Caller coordinator{Caller::Role::kCoordinator, "alice"};
  v1::TrainingPlan plan;
  plan.set_model("slice_encoder");
  plan.set_local_epochs(epochs);
  plan.set_batch_size(16);
  plan.set_learning_rate(1e-3);
  plan.set_seed(3);
  const absl::Status created =
      CreateHeldOutTrainingStudy(federation, "aisev", plan, rounds, spec_json);
  EXPECT_TRUE(created.ok()) << created;
  if (!created.ok()) return run;

  const char* ids[] = {"a", "b", "held"};
  std::vector<std::unique_ptr<node::TaskHost>> hosts;
  std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients;
  std::vector<std::unique_ptr<node::NodeAgent>> agents;
  for (int i = 0; i < 3; ++i) {
    node::NodeResources r;
    r.context.site_id = ids[i];
    r.context.device = "cpu";
    r.context.policy.min_cell_count = 3;  // tiny test cohorts
    r.context.scans = data[i];
    if (!score_stores.empty()) r.context.store = score_stores[i];
    hosts.push_back(std::make_unique<node::TaskHost>(
        r, std::initializer_list<node::TaskPluginMaker>{&node::MakeTorchTasks}));
    clients.push_back(std::make_unique<aggregator::InProcessFederationClient>(
        &federation, Caller{Caller::Role::kSite, ids[i]}, 1 << 16));
    node::AgentOptions options;
    options.clock = &clock;
    agents.push_back(
        std::make_unique<node::NodeAgent>(clients[i].get(), &hosts[i]->gate(), nullptr, options));
  }
  for (int step = 0; step < 80 && run.status.state() != v1::STUDY_STATE_DONE &&
                     run.status.state() != v1::STUDY_STATE_FAILED;
       ++step) {
    for (auto& agent : agents) EXPECT_TRUE(agent->RunOnce().ok());
    run.status = *federation.GetStudyStatus(coordinator, "aisev");
  }
  auto checkpoint = federation.GetCheckpoint(coordinator, "aisev", "");
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
  if (checkpoint.ok()) run.checkpoint = std::move(*checkpoint);
  return run;
}

// Member m's tensors of a checkpoint, prefix removed.
inline protocol::TensorSet Member(const protocol::TensorSet& checkpoint, size_t m) {
  const std::string prefix = "m" + std::to_string(m) + "/";
  protocol::TensorSet out;
  for (const protocol::Tensor& t : checkpoint.tensors()) {
    if (t.name.rfind(prefix, 0) != 0) continue;
    protocol::Tensor copy = t;
    copy.name = t.name.substr(prefix.size());
    EXPECT_TRUE(out.Add(std::move(copy)).ok());
  }
  return out;
}

// The probability member `m` of `checkpoint` gives each scan, recomputed here from its
// weights: embedding (the encoder's own facade), then PCA projection and logistic, written out.
inline std::vector<double> RecomputedProbabilities(const protocol::TensorSet& checkpoint, size_t m,
                                                   const std::string& config,
                                                   const std::vector<nn::SeverityScan>& scans) {
  const protocol::TensorSet member = Member(checkpoint, m);
  protocol::TensorSet encoder;
  for (const protocol::Tensor& t : member.tensors()) {
    if (t.name.rfind("pca.", 0) != 0 && t.name != "beta") {
      EXPECT_TRUE(encoder.Add(t).ok());
    }
  }
  auto embeddings = nn::EmbedScans(encoder, config, scans, "cpu");
  EXPECT_TRUE(embeddings.ok()) << embeddings.status();
  const std::vector<double> mean = protocol::ToDoubles(*member.Find("pca.mean"));
  const std::vector<double> comp = protocol::ToDoubles(*member.Find("pca.components"));
  const std::vector<double> scale = protocol::ToDoubles(*member.Find("pca.scale"));
  const std::vector<double> beta = protocol::ToDoubles(*member.Find("beta"));
  const size_t d = mean.size(), k = scale.size();
  EXPECT_EQ(beta.size(), k + 1);
  std::vector<double> prob;
  for (const std::vector<float>& e : *embeddings) {
    double lp = beta[0];
    for (size_t c = 0; c < k; ++c) {
      double z = 0;
      for (size_t j = 0; j < d; ++j) z += (e[j] - mean[j]) * comp[c * d + j];
      lp += beta[c + 1] * z / scale[c];
    }
    prob.push_back(1 / (1 + std::exp(-lp)));
  }
  return prob;
}

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_SEVERITY_PHANTOMS_H_
