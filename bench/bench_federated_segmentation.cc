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
//   ... --seed 12                  (the study's training seed; the sites' phantoms stay)
//
// In-process federation (tests/segmentation_federation.h: aggregator/server/federation.h +
// in-process clients): the same round logic, validation and FedAvg as over gRPC, without the
// network.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "models/nn/checkpoint.h"
#include "protocol/wire/segmentation.h"
#include "tests/segmentation_federation.h"

namespace {

// One line per closed round: each site's metrics (the held-out site's in the final round).
void PrintRound(const scancov::v1::RoundStatus& r, const std::string& target,
                std::chrono::steady_clock::time_point start) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << absl::StrFormat("round %d (%.0f s):", r.round(), secs);
  for (const auto& s : r.sites()) {
    const auto& m = s.metrics();
    auto get = [&](const char* k) { return m.count(k) ? m.at(k) : NAN; };
    std::cout << absl::StrFormat(" | %s lung_acc=%.4f", s.site_id(), get("global.lung_accuracy"));
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
                                   get("global.rve_crazy_paving"), get("global.rve_consolidation"));
    }
  }
  std::cout << std::endl;
}

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

  namespace seg = scancov::testing_seg;
  seg::SegStudyOptions o;
  o.target = target;
  o.model = model;
  o.model_config = config;
  o.rounds = rounds;
  o.local_epochs = epochs;
  o.learning_rate = lr;
  o.seed = seed;
  o.in_plane = in_plane;
  o.federated = setup == "federated";
  o.split_key = split_key;
  // Synthetic sites with 3-8 validation series: a minimum count of one series, else the
  // default minimum (10) withholds every validation metric (issue 12).
  o.min_cell_count = 1;
  if (!nlohmann::json::parse(config, nullptr, false).is_object()) {
    std::cerr << "--model-config must be a JSON object\n";
    return 1;
  }
  if (augment == "none" || augment == "false") {
    o.augment = scancov::wire::SegmentationAugment::kNone;
  } else if (augment == "geometric") {
    o.augment = scancov::wire::SegmentationAugment::kGeometric;
  } else if (augment == "full" || augment == "true") {
    o.augment = scancov::wire::SegmentationAugment::kFull;
  } else {
    std::cerr << "--augment must be none, geometric or full\n";
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  o.on_round = [&](const scancov::v1::RoundStatus& r) { PrintRound(r, target, start); };
  // Two scanners for the training sites, a third one for the held-out site.
  seg::PhantomSite kb({1, series, size, 400.0, 5.0});
  seg::PhantomSite igr({2, series, size, 430.0, 8.0});
  seg::PhantomSite heldout({3, std::max(8, series / 2), size, 410.0, 6.0});
  if (setup == "pooled") kb.Absorb(igr);  // kb holds both sites' series
  absl::StatusOr<seg::SegStudyResult> run =
      seg::RunSegmentationStudy(o, {&kb, o.federated ? &igr : nullptr, &heldout});
  if (!run.ok()) {
    std::cerr << run.status() << "\n";
    return 1;
  }
  const scancov::v1::StudyStatus& status = run->status;
  std::cout << (status.state() == scancov::v1::STUDY_STATE_DONE ? "done" : status.message())
            << std::endl;
  if (!save.empty() && status.state() == scancov::v1::STUDY_STATE_DONE) {
    scancov::nn::Checkpoint ckpt;
    ckpt.model = model;
    ckpt.model_config_json = config;
    ckpt.in_plane = in_plane;
    ckpt.weights = std::move(run->weights);
    const absl::Status saved = scancov::nn::SaveCheckpoint(save, ckpt);
    std::cout << (saved.ok() ? "model written to " + save : saved.ToString()) << std::endl;
    if (!saved.ok()) return 1;
  }
  return status.state() == scancov::v1::STUDY_STATE_DONE ? 0 : 1;
}
