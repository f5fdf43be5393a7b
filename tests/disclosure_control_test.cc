// Issue 12, attacks 2 and 5, as a curious coordinator would run them against the training
// kinds' node runners: a validation part of one patient (tabular training, AI-severity) or one
// scan (segmentation), a training part below the minimum count, and the AI-severity PCA sums of
// a site too small for a d x d matrix. Each attack is next to the honest study that must still
// get its numbers.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "gtest/gtest.h"
#include "models/nn/local_training.h"
#include "models/nn/segmentation.h"
#include "models/nn/severity_encoder.h"
#include "node/tabular_features.h"
#include "node/tasks/segmentation_runner.h"
#include "node/tasks/severity_runner.h"
#include "node/tasks/training_runner.h"
#include "protocol/wire/ai_severity.h"
#include "protocol/wire/segmentation.h"
#include "protocol/wire/tabular_training.h"
#include "sites/ct/phantom_volume.h"
#include "tests/severity_phantoms.h"

namespace scancov {
namespace {

// No metric that describes the validation part: only the "withheld" flag (and local.* of
// training) may be there.
void ExpectNoValidationMetric(const node::TaskOutcome& out, const std::string& withheld) {
  for (const auto& [name, value] : out.metrics) {
    EXPECT_FALSE(absl::StartsWith(name, "global.")) << name << " left the site";
  }
  ASSERT_TRUE(out.metrics.count(withheld)) << "no reason code";
  EXPECT_EQ(out.metrics.at(withheld), 1);
}

privacy::ReleasePolicy MinCount(int k) {
  privacy::ReleasePolicy policy;
  policy.min_cell_count = k;
  return policy;
}

node::TrainingRunnerOptions TrainingOptions(int min_cell_count) {
  node::TrainingRunnerOptions options;
  options.site_id = "kb";
  options.device = "cpu";
  options.policy = MinCount(min_cell_count);
  return options;
}

// ---- tabular_training ----

// `n` patients "k<i>" with one feature; the outcome is 1 for the first `events`.
class Rows : public node::DatasetSource {
 public:
  Rows(int n, int events) {
    Random rng(n * 31 + events);
    for (int i = 0; i < n; ++i) {
      rows_.keys.push_back(absl::StrCat("k", i));
      rows_.y.push_back(i < events ? 1.0 : 0.0);
      rows_.x.push_back(60 + 10 * rng.Uniform() + (i < events ? 8 : 0));
    }
    rows_.columns = {"age"};
  }
  absl::StatusOr<node::TabularRows> Load(const std::vector<std::string>&,
                                         const std::string&) override {
    return rows_;
  }
  const node::TabularRows& rows() const { return rows_; }

 private:
  node::TabularRows rows_;
};

std::string TabularSpec(double validation_fraction, int min_cell_count = 0) {
  std::string spec = absl::StrCat(R"({"features": [{"name": "age", "center": 62, "scale": 10}],
      "outcome": "severe", "validation_fraction": )",
                                  validation_fraction);
  if (min_cell_count > 0) absl::StrAppend(&spec, R"(, "min_cell_count": )", min_cell_count);
  return spec + "}";
}

v1::Task TabularTask(v1::TaskKind kind, const std::string& spec, uint64_t seed) {
  v1::Task task;
  task.set_task_id("t");
  task.set_kind(kind);
  task.set_spec_json(spec);
  task.mutable_plan()->set_model("logistic");
  task.mutable_plan()->set_seed(seed);
  task.mutable_plan()->set_local_epochs(1);
  task.mutable_plan()->set_learning_rate(0.01);
  return task;
}

protocol::TensorSet LogisticWeights(const std::string& spec) {
  return nn::InitModel("logistic", wire::ParseTabularTrainingSpec(spec)->model_config_json, 1)
      .value();
}

// A split key for which exactly `want` of `rows` fall in validation. The key is the site's own
// (NodeContext::split_key), so a coordinator cannot aim for it; a site may still be unlucky, and
// the rule must hold there too.
uint64_t SeedWithValidationRows(const node::TabularRows& rows, double fraction, int want) {
  for (uint64_t seed = 1; seed < 100000; ++seed) {
    int in = 0;
    for (const std::string& k : rows.keys) in += node::InHoldout(k, seed, fraction);
    if (in == want) return seed;
  }
  ADD_FAILURE() << "no seed gives " << want << " validation rows";
  return 0;
}

TEST(TrainingDisclosureTest, AOnePatientValidationSetReleasesNoValidationMetric) {
  Rows site(30, 12);
  const std::string spec = TabularSpec(0.1);
  const uint64_t seed = SeedWithValidationRows(site.rows(), 0.1, 1);
  node::TrainingRunnerOptions options = TrainingOptions(5);
  options.split_key = seed;
  node::TrainingTaskRunner runner(&site, options);
  const protocol::TensorSet global = LogisticWeights(spec);
  for (v1::TaskKind kind : {v1::TASK_KIND_EVALUATE, v1::TASK_KIND_TRAIN}) {
    absl::StatusOr<node::TaskOutcome> out = runner.Run(TabularTask(kind, spec, seed), &global);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectNoValidationMetric(*out, wire::kValWithheld);
    if (kind == v1::TASK_KIND_EVALUATE) {
      EXPECT_EQ(out->num_samples, 0u);  // not the validation part's size either
    } else {
      EXPECT_EQ(out->num_samples, 29u);  // training goes on with the other 29
      EXPECT_TRUE(out->weights.has_value());
    }
  }
}

TEST(TrainingDisclosureTest, ManyPatientsButTooFewEventsReleasesNoValidationMetric) {
  Rows site(80, 4);  // 4 events in all: fewer than 5 wherever they fall
  node::TrainingTaskRunner runner(&site, TrainingOptions(5));
  const std::string spec = TabularSpec(0.3);
  const protocol::TensorSet global = LogisticWeights(spec);
  absl::StatusOr<node::TaskOutcome> out =
      runner.Run(TabularTask(v1::TASK_KIND_EVALUATE, spec, 3), &global);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectNoValidationMetric(*out, wire::kValWithheld);
}

TEST(TrainingDisclosureTest, AStudysLargerMinimumRefusesASmallTrainingPart) {
  Rows site(36, 15);
  node::TrainingTaskRunner runner(&site, TrainingOptions(10));
  const protocol::TensorSet global = LogisticWeights(TabularSpec(0));
  // 36 training rows: enough for the site, not for a study that asks for 40.
  absl::StatusOr<node::TaskOutcome> refused =
      runner.Run(TabularTask(v1::TASK_KIND_TRAIN, TabularSpec(0, 40), 3), &global);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "(40)")) << refused.status();
  EXPECT_FALSE(absl::StrContains(refused.status().message(), "36")) << refused.status();
  absl::StatusOr<node::TaskOutcome> trained =
      runner.Run(TabularTask(v1::TASK_KIND_TRAIN, TabularSpec(0, 30), 3), &global);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_EQ(trained->num_samples, 36u);
}

TEST(TrainingDisclosureTest, AnHonestValidationSplitReleasesItsMetrics) {
  Rows site(200, 80);
  node::TrainingTaskRunner runner(&site, TrainingOptions(10));
  const std::string spec = TabularSpec(0.25);
  const protocol::TensorSet global = LogisticWeights(spec);
  absl::StatusOr<node::TaskOutcome> out =
      runner.Run(TabularTask(v1::TASK_KIND_EVALUATE, spec, 3), &global);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->metrics.count(wire::kValWithheld), 0u);
  for (const char* name : {wire::kGlobalValLoss, wire::kGlobalValAccuracy, wire::kGlobalValAuc,
                           wire::kGlobalValRows}) {
    EXPECT_TRUE(out->metrics.count(name)) << name;
  }
  EXPECT_GE(out->metrics.at(wire::kGlobalValRows), 10);
  EXPECT_EQ(out->num_samples, static_cast<uint64_t>(out->metrics.at(wire::kGlobalValRows)));
}

// ---- segmentation ----

class Series : public node::LabelledSeriesSource {
 public:
  explicit Series(int count) {
    for (int i = 0; i < count; ++i) {
      sites::PhantomSpec spec;
      spec.seed = 700 + i;
      spec.scanner.rows = spec.scanner.columns = 64;
      spec.scanner.pixel_spacing_mm = 6.0;
      spec.scanner.number_of_slices = 8;
      spec.scanner.slice_thickness_mm = 10;
      auto v = sites::GeneratePhantomVolume(spec);
      EXPECT_TRUE(v.ok()) << v.status();
      node::LabelledSeries s;
      s.series_key = absl::StrCat("s", i);
      s.ct = HuVolume(64, 64, 8, {6.0, 6.0, 10.0});
      s.ct.voxels = v->hu;
      s.lungs = LabelVolume(64, 64, 8, {6.0, 6.0, 10.0});
      s.lungs.voxels = v->lung_labels;
      series_.push_back(std::move(s));
    }
  }
  absl::StatusOr<std::vector<node::LabelledSeries>> Load(const std::string&, int) override {
    return series_;
  }

 private:
  std::vector<node::LabelledSeries> series_;
};

constexpr char kSegSpec[] =
    R"({"task": "segmentation", "target": "lungs", "in_plane": 32, "validation_fraction": 0})";

v1::Task SegTask(v1::TaskKind kind, bool held_out) {
  v1::Task task;
  task.set_task_id("seg");
  task.set_kind(kind);
  task.set_spec_json(kSegSpec);
  task.set_held_out_site(held_out);
  task.mutable_plan()->set_model("unet2d");
  task.mutable_plan()->set_seed(5);
  task.mutable_plan()->set_local_epochs(1);
  task.mutable_plan()->set_learning_rate(1e-3);
  return task;
}

node::SegmentationRunnerOptions SegOptions() {
  node::SegmentationRunnerOptions options;
  options.site_id = "kb";
  options.device = "cpu";
  options.policy = MinCount(3);
  return options;
}

TEST(SegmentationDisclosureTest, OneValidationScanReleasesNoPerScanMetric) {
  Series one(1);
  node::SegmentationTaskRunner runner(&one, SegOptions());
  const protocol::TensorSet global = nn::InitSegmentationModel("unet2d", "", 5).value();
  absl::StatusOr<node::TaskOutcome> out =
      runner.Run(SegTask(v1::TASK_KIND_EVALUATE, true), &global);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectNoValidationMetric(*out, wire::kSegValWithheld);
  EXPECT_EQ(out->num_samples, 0u);
}

TEST(SegmentationDisclosureTest, ATrainingPartBelowTheMinimumIsRefused) {
  Series two(2);
  node::SegmentationTaskRunner runner(&two, SegOptions());
  const protocol::TensorSet global = nn::InitSegmentationModel("unet2d", "", 5).value();
  absl::StatusOr<node::TaskOutcome> out = runner.Run(SegTask(v1::TASK_KIND_TRAIN, false), &global);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << out.status();
}

TEST(SegmentationDisclosureTest, EnoughValidationScansReleaseTheirMetrics) {
  Series three(3);
  node::SegmentationTaskRunner runner(&three, SegOptions());
  const protocol::TensorSet global = nn::InitSegmentationModel("unet2d", "", 5).value();
  absl::StatusOr<node::TaskOutcome> out =
      runner.Run(SegTask(v1::TASK_KIND_EVALUATE, true), &global);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->metrics.count(wire::kSegValWithheld), 0u);
  EXPECT_EQ(out->metrics.at(wire::kSegNVal), 3);
  for (const char* name : {wire::kSegLungAccuracy, wire::kSegDiceRight, wire::kSegDiceLeft}) {
    EXPECT_TRUE(out->metrics.count(name)) << name;
  }
  EXPECT_EQ(out->num_samples, 3u);
}

// `scancov-node run --threads N` reaches LibTorch through the runner's options: the task's
// training and evaluation run on N intra-op threads (0 leaves LibTorch's own choice).
TEST(SegmentationRunnerThreadsTest, TheRunnersThreadsAreLibTorchsForItsTask) {
  const int before = nn::TorchThreads();
  nn::SetTorchThreads(2);
  Series one(1);
  node::SegmentationRunnerOptions options = SegOptions();
  options.threads = 1;
  node::SegmentationTaskRunner runner(&one, options);
  const protocol::TensorSet global = nn::InitSegmentationModel("unet2d", "", 5).value();
  ASSERT_TRUE(runner.Run(SegTask(v1::TASK_KIND_EVALUATE, true), &global).ok());
  EXPECT_EQ(nn::TorchThreads(), 1);
  options.threads = 0;
  node::SegmentationTaskRunner unset(&one, options);
  ASSERT_TRUE(unset.Run(SegTask(v1::TASK_KIND_EVALUATE, true), &global).ok());
  EXPECT_EQ(nn::TorchThreads(), 1) << "0 leaves the count as it is";
  nn::SetTorchThreads(before);
}

// ---- ai_severity ----

std::string SeveritySpec(int embedding_dim) {
  return absl::StrCat(R"({"task": "ai_severity", "outcome": "severe", "pca_components": 1,
      "validation_fraction": 0, "encoder": {"window": "single", "slice_size": 32,
      "base_channels": 4, "embedding_dim": )",
                      embedding_dim, "}}");
}

v1::Task SeverityTask(v1::TaskKind kind, const std::string& spec, bool held_out) {
  v1::Task task;
  task.set_task_id("aisev");
  task.set_study_id("aisev");
  task.set_kind(kind);
  task.set_spec_json(spec);
  task.set_held_out_site(held_out);
  task.mutable_plan()->set_model("slice_encoder");
  task.mutable_plan()->set_seed(3);
  return task;
}

// The encoder of `spec`'s one member, with a head (PCA to one component, a logistic model on it)
// when `head`.
protocol::TensorSet SeverityCheckpoint(const std::string& spec, int embedding_dim, bool head) {
  const wire::AiSeveritySpec parsed = wire::ParseAiSeveritySpec(spec).value();
  protocol::TensorSet checkpoint;
  EXPECT_TRUE(wire::AddAiSeverityMemberTensors(
                  nn::InitSeverityEncoder(parsed.encoders[0], 3).value(), 0, &checkpoint)
                  .ok());
  if (!head) return checkpoint;
  wire::AiSeverityHead h;
  h.pca.mean = Eigen::VectorXd::Zero(embedding_dim);
  h.pca.components = Eigen::MatrixXd::Zero(1, embedding_dim);
  h.pca.components(0, 0) = 1;
  h.pca.scale = Eigen::VectorXd::Ones(1);
  h.beta = {0.0, 1.0};
  for (protocol::Tensor& t : wire::AiSeverityHeadTensors(0, h)) {
    EXPECT_TRUE(checkpoint.Add(std::move(t)).ok());
  }
  return checkpoint;
}

node::SeverityRunnerOptions SeverityOptions() {
  node::SeverityRunnerOptions options;
  options.site_id = "kb";
  options.device = "cpu";
  options.policy = MinCount(3);
  return options;
}

int Events(testing_sites::PhantomPatients& patients) {
  int events = 0;
  for (const nn::SeverityScan& s : patients.scans()) events += s.label == 1;
  return events;
}

TEST(SeverityDisclosureTest, PcaSumsOfASiteTooSmallForTheMatrixAreRefused) {
  testing_sites::PhantomPatients site(21, 12);
  ASSERT_GE(Events(site), 3);  // enough events and non-events for a single statistic
  ASSERT_LE(Events(site), 9);
  node::SeverityTaskRunner runner(&site, SeverityOptions());
  // 8 x 8 sums from 12 patients: 8 x 3 = 24 are needed.
  const std::string wide = SeveritySpec(8);
  const protocol::TensorSet encoder = SeverityCheckpoint(wide, 8, false);
  absl::StatusOr<node::TaskOutcome> refused =
      runner.Run(SeverityTask(v1::TASK_KIND_ANALYZE, wide, false), &encoder);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(),
                                "8 x 8 second-moment matrix needs at least 24 patients, has 12"))
      << refused.status();
  // 2 x 2 sums from the same 12 patients may leave (6 needed).
  const std::string narrow = SeveritySpec(2);
  const protocol::TensorSet small = SeverityCheckpoint(narrow, 2, false);
  absl::StatusOr<node::TaskOutcome> sums =
      runner.Run(SeverityTask(v1::TASK_KIND_ANALYZE, narrow, false), &small);
  ASSERT_TRUE(sums.ok()) << sums.status();
  absl::StatusOr<wire::AiSeverityAnswer> answer = wire::ParseAiSeverityAnswer(sums->result_json, 1);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->phase, "pca");
  ASSERT_EQ(answer->pca.size(), 1u);
  EXPECT_EQ(answer->pca[0].n, 12);
  EXPECT_EQ(answer->pca[0].cross.size(), 4u);
}

TEST(SeverityDisclosureTest, ValidationMetricsLeaveOnlyFromEnoughEventsAndNonEvents) {
  const std::string spec = SeveritySpec(2);
  const protocol::TensorSet checkpoint = SeverityCheckpoint(spec, 2, true);
  // One patient in validation (a held-out site of one): nothing about them leaves.
  testing_sites::PhantomPatients one(22, 1);
  node::SeverityTaskRunner lone(&one, SeverityOptions());
  absl::StatusOr<node::TaskOutcome> out =
      lone.Run(SeverityTask(v1::TASK_KIND_EVALUATE, spec, true), &checkpoint);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectNoValidationMetric(*out, wire::kAiSeverityValWithheld);
  EXPECT_EQ(out->num_samples, 0u);
  // Enough of both: the count and the AUC leave.
  testing_sites::PhantomPatients many(23, 14);
  ASSERT_GE(Events(many), 3);
  ASSERT_LE(Events(many), 11);
  node::SeverityTaskRunner runner(&many, SeverityOptions());
  out = runner.Run(SeverityTask(v1::TASK_KIND_EVALUATE, spec, true), &checkpoint);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->metrics.count(wire::kAiSeverityValWithheld), 0u);
  EXPECT_EQ(out->metrics.at(wire::kAiSeverityNVal), 14);
  EXPECT_TRUE(out->metrics.count(wire::kAiSeverityValAuc));
}

}  // namespace
}  // namespace scancov
