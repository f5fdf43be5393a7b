#include "tests/segmentation_federation.h"

#include <cmath>
#include <iostream>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "core/status_macros.h"
#include "models/ct/preprocessing.h"
#include "models/nn/seg_predictor.h"
#include "models/nn/seg_probabilities.h"
#include "models/nn/segmentation.h"
#include "node/agent.h"
#include "node/tasks/registry.h"
#include "node/tasks/task_host.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::testing_seg {
namespace {

using aggregator::Caller;

constexpr const char* kSiteIds[] = {"kb", "igr", "heldout"};
constexpr char kStudy[] = "seg";

sites::PhantomSpec SpecFor(const PhantomCohort& cohort, int i, Random& rng) {
  sites::PhantomSpec spec;
  spec.seed = cohort.seed * 1000 + i;
  spec.scanner.rows = spec.scanner.columns = cohort.size;
  spec.scanner.pixel_spacing_mm = cohort.field_of_view_mm / cohort.size;
  spec.scanner.slice_thickness_mm = cohort.slice_mm;
  spec.scanner.number_of_slices = static_cast<int>(cohort.thorax_mm / cohort.slice_mm);
  spec.scanner.noise_sigma_hu = 10 + 15 * rng.Uniform();
  spec.patient.body_scale = 0.85 + 0.2 * rng.Uniform();
  spec.disease.extent_right = 0.45 * rng.Uniform() * rng.Uniform();
  spec.disease.extent_left = 0.45 * rng.Uniform() * rng.Uniform();
  const double g = rng.Uniform(), c = rng.Uniform(), k = rng.Uniform();
  spec.disease.ggo_fraction = (0.5 + g) / (1.5 + c + k);
  spec.disease.crazy_paving_fraction = c / (1.5 + c + k);
  spec.disease.consolidation_fraction =
      1 - spec.disease.ggo_fraction - spec.disease.crazy_paving_fraction;
  spec.disease.peripheral = rng.Uniform() < 0.7;
  return spec;
}

v1::CreateStudyRequest StudyRequest(const SegStudyOptions& o) {
  v1::CreateStudyRequest req;
  v1::StudySpec& spec = *req.mutable_spec();
  spec.set_name(kStudy);
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  spec.add_sites("kb");
  if (o.federated) spec.add_sites("igr");
  spec.add_evaluation_sites("heldout");
  spec.set_rounds(o.rounds);
  spec.mutable_plan()->set_model(o.model);
  spec.mutable_plan()->set_local_epochs(o.local_epochs);
  spec.mutable_plan()->set_batch_size(o.batch_size);
  spec.mutable_plan()->set_learning_rate(o.learning_rate);
  spec.mutable_plan()->set_seed(o.seed);
  wire::SegmentationSpec seg;
  seg.target = o.target;
  seg.in_plane = o.in_plane;
  seg.validation_fraction = o.validation_fraction;
  seg.model_config = o.model_config;
  seg.augment = o.augment;
  spec.set_spec_json(wire::ToJson(seg));
  return req;
}

// The global model of the study's last checkpoint.
absl::StatusOr<protocol::TensorSet> FinalWeights(aggregator::Federation& federation,
                                                 const Caller& coordinator,
                                                 const v1::StudyStatus& status) {
  std::string checkpoint_id;
  for (const v1::RoundStatus& r : status.rounds()) {
    if (!r.checkpoint_id().empty()) checkpoint_id = r.checkpoint_id();
  }
  if (checkpoint_id.empty()) return absl::NotFoundError("study seg: no checkpoint");
  return federation.GetCheckpoint(coordinator, kStudy, checkpoint_id);
}

}  // namespace

PhantomSite::PhantomSite(const PhantomCohort& cohort) {
  Random rng(cohort.seed);
  for (int i = 0; i < cohort.series; ++i) {
    const sites::PhantomSpec spec = SpecFor(cohort, i, rng);
    absl::StatusOr<sites::PhantomVolume> v = sites::GeneratePhantomVolume(spec);
    if (!v.ok()) {
      std::cerr << "phantom " << spec.seed << ": " << v.status() << "\n";
      continue;
    }
    node::LabelledSeries s;
    s.series_key = absl::StrFormat("site%d-series%03d", cohort.seed, i);
    const int nz = spec.scanner.number_of_slices;
    const double pixel_mm = spec.scanner.pixel_spacing_mm;
    const std::array<double, 3> spacing = {pixel_mm, pixel_mm, cohort.slice_mm};
    s.ct = HuVolume(cohort.size, cohort.size, nz, spacing);
    s.ct.voxels = std::move(v->hu);
    s.lungs = LabelVolume(cohort.size, cohort.size, nz, spacing);
    s.lungs.voxels = std::move(v->lung_labels);
    s.lesions = LabelVolume(cohort.size, cohort.size, nz, spacing);
    s.lesions.voxels = std::move(v->lesion_labels);
    series_.push_back(std::move(s));
  }
}

absl::StatusOr<std::vector<node::LabelledSeries>> PhantomSite::Load(const std::string&, int) {
  return series_;
}

void PhantomSite::Absorb(const PhantomSite& other) {
  series_.insert(series_.end(), other.series_.begin(), other.series_.end());
}

absl::StatusOr<SegStudyResult> RunSegmentationStudy(const SegStudyOptions& options,
                                                    const SegSites& sites) {
  FakeClock clock;
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<aggregator::AggregatorStore> store,
                       aggregator::AggregatorStore::Open(":memory:"));
  aggregator::FederationOptions fo;
  fo.studies = &aggregator::AllStudyLogics();
  fo.clock = &clock;
  aggregator::Federation federation(std::move(store), fo);
  const Caller coordinator{Caller::Role::kCoordinator, "bench"};
  for (const char* id : kSiteIds) {
    v1::EnrollSiteRequest r;
    r.set_site_id(id);
    SCV_RETURN_IF_ERROR(federation.EnrollSite(coordinator, r).status());
  }
  SCV_RETURN_IF_ERROR(federation.CreateStudy(coordinator, StudyRequest(options)).status());

  node::LabelledSeriesSource* data[] = {sites.kb, sites.igr, sites.heldout};
  std::vector<std::unique_ptr<node::TaskHost>> hosts;
  std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients;
  std::vector<std::unique_ptr<node::NodeAgent>> agents;
  for (int i = 0; i < 3; ++i) {
    if (data[i] == nullptr) continue;  // igr in a single-site study
    node::NodeResources r;
    r.context.site_id = kSiteIds[i];
    r.context.device = options.device;
    r.context.threads = options.threads;
    r.context.split_key = options.split_key;
    if (options.min_cell_count >= 0) r.context.policy.min_cell_count = options.min_cell_count;
    r.context.labelled_series = data[i];
    hosts.push_back(std::make_unique<node::TaskHost>(
        r, std::initializer_list<node::TaskPluginMaker>{&node::MakeTorchTasks}));
    clients.push_back(std::make_unique<aggregator::InProcessFederationClient>(
        &federation, Caller{Caller::Role::kSite, kSiteIds[i]}, 1 << 20));
    node::AgentOptions agent_options;
    agent_options.clock = &clock;
    agents.push_back(std::make_unique<node::NodeAgent>(clients.back().get(), &hosts.back()->gate(),
                                                       nullptr, agent_options));
  }
  SegStudyResult result;
  int reported = 0;  // rounds passed to on_round (round 0 is skipped)
  // Each step every node takes one task; a round needs one step per site at most, plus slack.
  const int max_steps = 4 * (options.rounds + 3);
  for (int step = 0; step < max_steps; ++step) {
    for (auto& agent : agents) (void)agent->RunOnce();
    SCV_ASSIGN_OR_RETURN(result.status, federation.GetStudyStatus(coordinator, kStudy));
    for (; reported + 1 < result.status.rounds_size(); ++reported) {
      const v1::RoundStatus& r = result.status.rounds(reported + 1);
      if (r.state() != "closed") break;
      if (options.on_round) options.on_round(r);
    }
    if (result.status.state() == v1::STUDY_STATE_FAILED) return result;
    if (result.status.state() == v1::STUDY_STATE_DONE) {
      SCV_ASSIGN_OR_RETURN(result.weights, FinalWeights(federation, coordinator, result.status));
      return result;
    }
  }
  return absl::DeadlineExceededError(
      absl::StrCat("study seg: not done after ", max_steps, " steps of every node"));
}

double HeldOutMetric(const v1::StudyStatus& status, const std::string& name) {
  if (status.rounds_size() == 0) return NAN;
  for (const v1::SiteRoundStatus& s : status.rounds(status.rounds_size() - 1).sites()) {
    if (s.site_id() != "heldout") continue;
    const auto it = s.metrics().find(name);
    return it == s.metrics().end() ? NAN : it->second;
  }
  return NAN;
}

absl::StatusOr<ct::SetEvaluation> EvaluateLesionEnsemble(
    const std::vector<EnsembleMember>& members, const std::vector<node::LabelledSeries>& series,
    int in_plane, const std::string& device, int threads) {
  std::vector<ct::ScanEvaluation> scans;
  std::vector<nn::SegmentationPredictor> predictors;  // each member's network, loaded once
  for (const EnsembleMember& m : members) {
    SCV_ASSIGN_OR_RETURN(nn::SegmentationPredictor p,
                         nn::SegmentationPredictor::Create(m.weights, m.model, m.model_config,
                                                           {device, /*batch=*/0}));
    predictors.push_back(std::move(p));
  }
  for (const node::LabelledSeries& s : series) {
    SCV_ASSIGN_OR_RETURN(HuVolume ct, ct::FitInPlaneHu(s.ct, in_plane, threads));
    SCV_ASSIGN_OR_RETURN(LabelVolume reference, ct::FitInPlaneLabels(s.lesions, in_plane, threads));
    std::vector<nn::SegProbabilities> probabilities;
    for (nn::SegmentationPredictor& predictor : predictors) {
      SCV_ASSIGN_OR_RETURN(nn::SegProbabilities p, predictor.Predict(ct));
      probabilities.push_back(std::move(p));
    }
    SCV_ASSIGN_OR_RETURN(nn::SegProbabilities mean, nn::EnsembleAverage(probabilities));
    // As the segmentation runner: the argmax inside the reference lung mask, and voxels without
    // a label (255, brought in by the fitting) counted as outside.
    LabelVolume lung_mask = reference;
    for (uint8_t& v : lung_mask.voxels) v = v >= 1 && v <= 4 ? 1 : 0;
    for (uint8_t& v : reference.voxels) v = v > 4 ? 0 : v;
    SCV_ASSIGN_OR_RETURN(LabelVolume predicted, nn::ArgmaxLabels(mean, &lung_mask));
    SCV_ASSIGN_OR_RETURN(ct::ScanEvaluation e, ct::EvaluateScan(predicted, reference));
    scans.push_back(std::move(e));
  }
  return ct::SummariseScans(std::move(scans));
}

}  // namespace scancov::testing_seg
