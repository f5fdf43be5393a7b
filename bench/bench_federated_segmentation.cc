// bench_federated_segmentation: issue 5's held-out-site figures. Two synthetic sites train a
// segmentation model by FedAvg rounds on their own labelled CT phantoms (each site its own
// scanner), a third site never seen in training evaluates the final model on all its series;
// the seed's metrics are printed per round: lung vs background accuracy, lesion vs healthy F1
// (micro, pooled over the held-out scans), median |relative volume error| per lesion class.
//
//   bench_federated_segmentation --target lungs   --model unet2d  --rounds 6
//   bench_federated_segmentation --target lesions --model unet25d --rounds 10 --series 24
//   ... --setup single | pooled   (kb alone, or one site holding kb's and igr's series)
//   ... --save lungs.ckpt          (the final model as a checkpoint file for scancov-score)
//
// In-process federation (aggregator/federation.h + in-process clients): the same round logic,
// validation and FedAvg as over gRPC, without the network.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "models/nn/checkpoint.h"
#include "node/agent.h"
#include "node/tasks/registry.h"
#include "node/tasks/segmentation_runner.h"
#include "node/tasks/task_host.h"
#include "protocol/wire/segmentation.h"
#include "sites/ct/phantom_volume.h"

namespace {

using scancov::aggregator::Caller;

class PhantomSite : public scancov::node::LabelledSeriesSource {
 public:
  PhantomSite(uint64_t seed, int count, int size, double pixel_mm, double thickness_mm) {
    scancov::Random rng(seed);
    for (int i = 0; i < count; ++i) {
      scancov::sites::PhantomSpec spec;
      spec.seed = seed * 1000 + i;
      spec.scanner.rows = spec.scanner.columns = size;
      spec.scanner.pixel_spacing_mm = pixel_mm;
      spec.scanner.slice_thickness_mm = thickness_mm;
      spec.scanner.number_of_slices = static_cast<int>(200 / thickness_mm);
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
      auto v = scancov::sites::GeneratePhantomVolume(spec);
      if (!v.ok()) {
        std::cerr << v.status() << "\n";
        continue;
      }
      scancov::node::LabelledSeries s;
      s.series_key = absl::StrFormat("site%d-series%03d", seed, i);
      const int nz = spec.scanner.number_of_slices;
      const std::array<double, 3> spacing = {pixel_mm, pixel_mm, thickness_mm};
      s.ct = scancov::HuVolume(size, size, nz, spacing);
      s.ct.voxels = v->hu;
      s.lungs = scancov::LabelVolume(size, size, nz, spacing);
      s.lungs.voxels = v->lung_labels;
      s.lesions = scancov::LabelVolume(size, size, nz, spacing);
      s.lesions.voxels = v->lesion_labels;
      series_.push_back(std::move(s));
    }
  }
  absl::StatusOr<std::vector<scancov::node::LabelledSeries>> Load(const std::string&,
                                                                  int) override {
    return series_;
  }
  void Absorb(const PhantomSite& other) {
    series_.insert(series_.end(), other.series_.begin(), other.series_.end());
  }

 private:
  std::vector<scancov::node::LabelledSeries> series_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Federated segmentation training with a held-out site (issue 5's figures)"};
  std::string target = "lungs", model = "unet2d", config = R"({"depth": 4, "base_channels": 8})";
  int rounds = 6, series = 16, epochs = 2, size = 96, in_plane = 96;
  uint64_t seed = 11, split_key = 0;
  double lr = 3e-3;
  std::string augment = "full";
  std::string setup = "federated", save;
  app.add_option("--target", target, "lungs | lesions")->capture_default_str();
  app.add_option("--model", model, "unet2d | unet25d | unet3d")->capture_default_str();
  app.add_option("--model-config", config, "model JSON config")->capture_default_str();
  app.add_option("--rounds", rounds)->capture_default_str();
  app.add_option("--series", series, "labelled series per training site")->capture_default_str();
  app.add_option("--epochs", epochs, "local epochs per round")->capture_default_str();
  app.add_option("--size", size, "phantom matrix (pixels)")->capture_default_str();
  app.add_option("--in-plane", in_plane, "network slice size")->capture_default_str();
  app.add_option("--lr", lr)->capture_default_str();
  app.add_option("--augment", augment,
                 "none | geometric (random affine) | full (affine + contrast); false = none")
      ->capture_default_str();
  app.add_option("--setup", setup,
                 "federated (kb + igr, FedAvg) | single (kb alone) | pooled (one site holding "
                 "kb's and igr's series)")
      ->capture_default_str();
  app.add_option("--seed", seed,
                 "training seed (initialisation, shuffling); the sites' phantoms do not change")
      ->capture_default_str();
  app.add_option("--split-key", split_key,
                 "the sites' split key (which series a training site keeps for validation; "
                 "before 2026-12-06 the split was drawn from the study seed)")
      ->capture_default_str();
  app.add_option("--save", save, "write the final model here as a checkpoint file");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  scancov::FakeClock clock;
  auto store = scancov::aggregator::AggregatorStore::Open(":memory:");
  scancov::aggregator::FederationOptions fo;
  fo.studies = &scancov::aggregator::AllStudyLogics();
  fo.clock = &clock;
  scancov::aggregator::Federation federation(std::move(*store), fo);
  const Caller coordinator{Caller::Role::kCoordinator, "bench"};
  const char* ids[] = {"kb", "igr", "heldout"};
  for (const char* s : ids) {
    scancov::v1::EnrollSiteRequest r;
    r.set_site_id(s);
    (void)federation.EnrollSite(coordinator, r);
  }
  scancov::v1::CreateStudyRequest req;
  scancov::v1::StudySpec& spec = *req.mutable_spec();
  spec.set_name("seg");
  spec.set_kind(scancov::v1::STUDY_KIND_TRAINING);
  spec.add_sites("kb");
  if (setup == "federated") spec.add_sites("igr");
  spec.add_evaluation_sites("heldout");
  spec.set_rounds(rounds);
  spec.mutable_plan()->set_model(model);
  spec.mutable_plan()->set_local_epochs(epochs);
  spec.mutable_plan()->set_batch_size(8);
  spec.mutable_plan()->set_learning_rate(lr);
  spec.mutable_plan()->set_seed(seed);
  scancov::wire::SegmentationSpec seg;
  seg.target = target;
  seg.in_plane = in_plane;
  seg.validation_fraction = 0.2;
  if (!nlohmann::json::parse(config, nullptr, false).is_object()) {
    std::cerr << "--model-config must be a JSON object\n";
    return 1;
  }
  seg.model_config = config;
  if (augment == "none" || augment == "false") {
    seg.augment = scancov::wire::SegmentationAugment::kNone;
  } else if (augment == "geometric") {
    seg.augment = scancov::wire::SegmentationAugment::kGeometric;
  } else if (augment == "full" || augment == "true") {
    seg.augment = scancov::wire::SegmentationAugment::kFull;
  } else {
    std::cerr << "--augment must be none, geometric or full\n";
    return 1;
  }
  spec.set_spec_json(scancov::wire::ToJson(seg));
  if (auto s = federation.CreateStudy(coordinator, req); !s.ok()) {
    std::cerr << s.status() << "\n";
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  // Two scanners for the training sites, a third one for the held-out site.
  std::vector<std::unique_ptr<PhantomSite>> data;
  data.push_back(std::make_unique<PhantomSite>(1, series, size, 400.0 / size, 5.0));
  data.push_back(std::make_unique<PhantomSite>(2, series, size, 430.0 / size, 8.0));
  data.push_back(
      std::make_unique<PhantomSite>(3, std::max(8, series / 2), size, 410.0 / size, 6.0));
  if (setup == "pooled") data[0]->Absorb(*data[1]);  // kb holds both sites' series
  std::vector<std::unique_ptr<scancov::node::TaskHost>> hosts;
  std::vector<std::unique_ptr<scancov::aggregator::InProcessFederationClient>> clients;
  std::vector<std::unique_ptr<scancov::node::NodeAgent>> agents;
  for (int i = 0; i < 3; ++i) {
    scancov::node::NodeResources r;
    r.context.site_id = ids[i];
    r.context.device = "auto";
    r.context.split_key = split_key;
    // Synthetic sites with 3-8 validation series: a minimum count of one series, else the
    // default minimum (10) withholds every validation metric (issue 12).
    r.context.policy.min_cell_count = 1;
    r.context.labelled_series = data[i].get();
    hosts.push_back(std::make_unique<scancov::node::TaskHost>(
        r, std::initializer_list<scancov::node::TaskPluginMaker>{&scancov::node::MakeTorchTasks}));
    clients.push_back(std::make_unique<scancov::aggregator::InProcessFederationClient>(
        &federation, Caller{Caller::Role::kSite, ids[i]}, 1 << 20));
    scancov::node::AgentOptions options;
    options.clock = &clock;
    agents.push_back(std::make_unique<scancov::node::NodeAgent>(clients[i].get(), &hosts[i]->gate(),
                                                                nullptr, options));
  }
  scancov::v1::StudyStatus status;
  size_t printed = 0;
  while (status.state() != scancov::v1::STUDY_STATE_DONE &&
         status.state() != scancov::v1::STUDY_STATE_FAILED) {
    for (auto& agent : agents) (void)agent->RunOnce();
    status = *federation.GetStudyStatus(coordinator, "seg");
    for (; printed < static_cast<size_t>(status.rounds_size()); ++printed) {
      const auto& r = status.rounds(printed);
      if (r.state() != "closed" || r.round() == 0) {
        if (r.state() != "closed") break;
        continue;
      }
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cout << absl::StrFormat("round %d (%.0f s):", r.round(), secs);
      for (const auto& s : r.sites()) {
        const auto& m = s.metrics();
        auto get = [&](const char* k) { return m.count(k) ? m.at(k) : NAN; };
        std::cout << absl::StrFormat(" | %s lung_acc=%.4f", s.site_id(),
                                     get("global.lung_accuracy"));
        if (m.count("local.slices_per_second")) {
          std::cout << absl::StrFormat(" train=%.0f slices/s", get("local.slices_per_second"));
        }
        if (target == "lungs") {
          std::cout << absl::StrFormat(" dice R/L=%.3f/%.3f", get("global.dice_right"),
                                       get("global.dice_left"));
        } else {
          const double tp = get("global.n_lesion_tp"), fp = get("global.n_lesion_fp"),
                       fn = get("global.n_lesion_fn");
          std::cout << absl::StrFormat(" lesion_F1=%.3f rve ggo/cp/cons=%.3f/%.3f/%.3f",
                                       2 * tp / (2 * tp + fp + fn), get("global.rve_ggo"),
                                       get("global.rve_crazy_paving"),
                                       get("global.rve_consolidation"));
        }
      }
      std::cout << std::endl;
    }
  }
  std::cout << (status.state() == scancov::v1::STUDY_STATE_DONE ? "done" : status.message())
            << std::endl;
  if (!save.empty() && status.state() == scancov::v1::STUDY_STATE_DONE) {
    std::string checkpoint_id;
    for (const auto& r : status.rounds()) {
      if (!r.checkpoint_id().empty()) checkpoint_id = r.checkpoint_id();
    }
    auto weights = federation.GetCheckpoint(coordinator, "seg", checkpoint_id);
    scancov::nn::Checkpoint ckpt;
    ckpt.model = model;
    ckpt.model_config_json = config;
    ckpt.in_plane = in_plane;
    absl::Status saved =
        weights.ok() ? (ckpt.weights = *std::move(weights), scancov::nn::SaveCheckpoint(save, ckpt))
                     : weights.status();
    std::cout << (saved.ok() ? "model written to " + save : saved.ToString()) << std::endl;
    if (!saved.ok()) return 1;
  }
  return status.state() == scancov::v1::STUDY_STATE_DONE ? 0 : 1;
}
