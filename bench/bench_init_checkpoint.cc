// bench_init_checkpoint: a segmentation network's freshly initialised weights written as a
// checkpoint file (models/nn/checkpoint.h), so that the bedside pipeline can be timed with a
// network of any size without training one first (issue 16's scan-to-score at full
// resolution). The weights are untrained: what such a run measures is time and memory, never
// accuracy.
//
//   bench_init_checkpoint --model unet25d --config '{"depth": 5, "base_channels": 32}' \
//       --in-plane 256 --out lesions256.ckpt
#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <string>

#include "models/nn/checkpoint.h"
#include "models/nn/segmentation.h"

int main(int argc, char** argv) {
  std::string model = "unet25d", config = R"({"depth": 5, "base_channels": 32})", out;
  int in_plane = 256;
  uint64_t seed = 1;
  CLI::App app{"A segmentation network's initial weights as a checkpoint file (for timing)"};
  app.add_option("--model", model, "unet2d, unet25d or unet3d")->capture_default_str();
  app.add_option("--config", config, "the model's JSON config")->capture_default_str();
  app.add_option("--in-plane", in_plane, "slice size recorded in the file")->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--out", out, "checkpoint file to write")->required();
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<scancov::protocol::TensorSet> weights =
      scancov::nn::InitSegmentationModel(model, config, seed);
  if (!weights.ok()) {
    std::cerr << "bench_init_checkpoint: " << weights.status() << "\n";
    return 1;
  }
  scancov::nn::Checkpoint checkpoint;
  checkpoint.model = model;
  checkpoint.model_config_json = config;
  checkpoint.in_plane = in_plane;
  checkpoint.weights = *std::move(weights);
  if (absl::Status s = scancov::nn::SaveCheckpoint(out, checkpoint); !s.ok()) {
    std::cerr << "bench_init_checkpoint: " << s << "\n";
    return 1;
  }
  std::cout << out << ": " << model << " " << config << ", in_plane " << in_plane
            << ", untrained\n";
  return 0;
}
