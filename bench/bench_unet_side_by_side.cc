// bench_unet_side_by_side: the node's 2D U-Net trained and run through the node's own
// LibTorch-free entry points (models/nn/segmentation.h: TrainSegmentation; seg_predictor.h:
// SegmentationPredictor), for the side-by-side with PyTorch-Python of issue 16
// (bench/unet_pytorch.py; bench/unet_side_by_side.sh runs both, interleaved).
//
//   bench_unet_side_by_side --data-dir DIR --write   writes the CT, labels and initial weights
//   bench_unet_side_by_side --data-dir DIR           times training and inference, one JSON line
//
// The data are a deterministic phantom (the same bytes on every run), written as raw files that
// unet_pytorch.py reads, with the network's initial weights (InitSegmentationModel), so that
// both sides start from the same numbers and the first loss can be compared.
//
// Training: one TrainSegmentation call (Adam, masked cross-entropy, the node's loop and batch
// pipeline with its one prefetch worker) over (warmup + iters) batches; the Progress sink marks
// the end of each batch, so each step (forward, backward, Adam) is timed on its own and the
// first `warmup` are dropped. Inference, as the node runs it: a SegmentationPredictor built
// once (not timed, as Python's model; its seconds are reported), then PredictLabels (eval,
// InferenceMode, batches sized to memory: 8 slices here, softmax and argmax on the device) on
// `infer_slices` slices, timed per call; --infer-path probabilities times the one-off
// PredictProbabilities and ArgmaxLabels per call instead. Medians. --precision bf16 runs the
// predictor's forward pass in bfloat16 and reports the fraction of voxels labelled as fp32 does.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/machine.h"
#include "core/env.h"
#include "core/progress.h"
#include "core/volume.h"
#include "models/nn/local_training.h"
#include "models/nn/seg_predictor.h"
#include "models/nn/seg_probabilities.h"
#include "models/nn/segmentation.h"

namespace {

namespace nn = scancov::nn;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string data_dir = "/tmp/unet_side_by_side";
  bool write = false;
  int size = 256;
  int batch = 4;
  int classes = 4;
  int base_channels = 32;
  int depth = 5;
  int threads = 2;
  int warmup = 1;
  int iters = 5;
  int infer_slices = 16;
  std::string infer_path = "labels";
  int infer_batch = 0;
  std::string precision = "fp32";
  uint64_t seed = 16;
};

std::string ModelConfig(const Options& o) {
  return nlohmann::json{{"base_channels", o.base_channels},
                        {"depth", o.depth},
                        {"num_classes", o.classes},
                        {"lateral_labels", false}}
      .dump();
}

int TrainSlices(const Options& o) { return o.batch * (o.warmup + o.iters); }

// A chest-like phantom: air, a body ellipse of soft tissue, two lungs, lesions in them, with
// noise. Labels: 0 air, 1 body, 2 lung, 3 lesion. Slice k is shifted a little with k.
void MakePhantom(const Options& o, int nz, scancov::HuVolume* ct, scancov::LabelVolume* labels) {
  const int n = o.size;
  *ct = scancov::HuVolume(n, n, nz, {0.7, 0.7, 5.0}, -1000);
  *labels = scancov::LabelVolume(n, n, nz, {0.7, 0.7, 5.0}, 0);
  scancov::Random rng(o.seed);
  for (int k = 0; k < nz; ++k) {
    const double shift = 0.02 * std::sin(0.7 * k), lesion = 0.05 + 0.04 * ((k * 7) % 5);
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < n; ++i) {
        const double x = 2.0 * i / n - 1.0 - shift, y = 2.0 * j / n - 1.0;
        auto inside = [&](double cx, double cy, double rx, double ry) {
          return std::pow((x - cx) / rx, 2) + std::pow((y - cy) / ry, 2) <= 1.0;
        };
        uint8_t label = 0;
        double hu = -1000;
        if (inside(0, 0, 0.9, 0.7)) label = 1, hu = 40;
        if (inside(-0.42, 0, 0.3, 0.5) || inside(0.42, 0, 0.3, 0.5)) label = 2, hu = -850;
        if (inside(-0.4 + shift, 0.2, lesion, lesion)) label = 3, hu = -450;
        ct->at(k, j, i) = static_cast<int16_t>(std::lround(hu + rng.Normal(0.0, 25.0)));
        labels->at(k, j, i) = label;
      }
    }
  }
}

template <typename T>
void WriteRaw(const std::string& path, const std::vector<T>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(T)));
}

// weights.bin holds the tensors' bytes back to back; weights.json their names, shapes, dtypes
// and offsets, in the state's order.
void WriteWeights(const std::string& dir, const scancov::protocol::TensorSet& weights) {
  std::ofstream bin(dir + "/weights.bin", std::ios::binary);
  nlohmann::json index = nlohmann::json::array();
  size_t offset = 0;
  for (const auto& t : weights.tensors()) {
    index.push_back({{"name", t.name},
                     {"shape", t.shape},
                     {"dtype", std::string(scancov::protocol::DTypeName(t.dtype))},
                     {"offset", offset},
                     {"bytes", t.bytes.size()}});
    bin.write(t.bytes.data(), static_cast<std::streamsize>(t.bytes.size()));
    offset += t.bytes.size();
  }
  std::ofstream(dir + "/weights.json") << index.dump(1) << "\n";
}

// Which BLAS (and OpenMP) libraries this process has mapped, from /proc/self/maps.
std::vector<std::string> MappedBlas() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> found;
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (path.find("blas") != std::string::npos) found.insert(path);
  }
  return {found.begin(), found.end()};
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// The seconds of each training step, from the Progress lines "..., batch <done>/<total>, ...".
struct StepClock {
  std::vector<std::pair<int64_t, Clock::time_point>> marks;
  void Mark(const std::string& line) {
    const size_t at = line.find("batch ");
    if (at == std::string::npos) return;
    const std::string rest = line.substr(at + 6, line.find('/', at) - at - 6);
    int64_t done = 0;
    if (absl::SimpleAtoi(rest, &done)) marks.emplace_back(done, Clock::now());
  }
  std::vector<double> Steps() const {
    std::vector<double> s;
    for (size_t m = 1; m < marks.size(); ++m) {
      if (marks[m].first == marks[m - 1].first + 1) {
        s.push_back(std::chrono::duration<double>(marks[m].second - marks[m - 1].second).count());
      }
    }
    return s;
  }
};

int Fail(const absl::Status& status) {
  std::cerr << "bench_unet_side_by_side: " << status << "\n";
  return 1;
}

int Run(const Options& o) {
  nn::SetTorchThreads(o.threads);
  const std::string config = ModelConfig(o);
  absl::StatusOr<scancov::protocol::TensorSet> init =
      nn::InitSegmentationModel("unet2d", config, o.seed);
  if (!init.ok()) return Fail(init.status());
  scancov::HuVolume ct;
  scancov::LabelVolume labels;
  MakePhantom(o, std::max(TrainSlices(o), o.infer_slices), &ct, &labels);
  if (o.write) {
    WriteRaw(o.data_dir + "/ct.raw", ct.voxels);
    WriteRaw(o.data_dir + "/labels.raw", labels.voxels);
    WriteWeights(o.data_dir, *init);
    std::ofstream(o.data_dir + "/meta.json") << nlohmann::json{{"nx", ct.nx},
                                                               {"ny", ct.ny},
                                                               {"nz", ct.nz},
                                                               {"batch", o.batch},
                                                               {"classes", o.classes},
                                                               {"base_channels", o.base_channels},
                                                               {"depth", o.depth},
                                                               {"warmup", o.warmup},
                                                               {"iters", o.iters},
                                                               {"train_slices", TrainSlices(o)},
                                                               {"infer_slices", o.infer_slices},
                                                               {"seed", o.seed}}
                                                    .dump()
                                             << "\n";
    return 0;
  }

  nn::SegmentationExample example;
  example.ct = ct;
  example.labels = labels;
  example.ct.nz = example.labels.nz = TrainSlices(o);
  example.ct.voxels.resize(example.ct.size());
  example.labels.voxels.resize(example.labels.size());
  StepClock steps;
  scancov::Progress progress;
  progress.PrintEvery(absl::ZeroDuration(), [&](const std::string& line) { steps.Mark(line); });
  nn::SegTrainConfig train;
  train.model = "unet2d";
  train.model_config_json = config;
  train.epochs = 1;
  train.batch_size = o.batch;
  train.learning_rate = 1e-3;
  train.seed = o.seed;
  train.device = "cpu";
  train.num_workers = 1;  // as the node's segmentation runner
  train.progress = &progress;
  absl::StatusOr<nn::SegTrainResult> trained = nn::TrainSegmentation(*init, {example}, train);
  if (!trained.ok()) return Fail(trained.status());
  std::vector<double> step_s = steps.Steps();
  step_s.erase(step_s.begin(), step_s.begin() + std::min<size_t>(o.warmup, step_s.size()));

  scancov::HuVolume infer_ct = ct;
  infer_ct.nz = o.infer_slices;
  infer_ct.voxels.resize(infer_ct.size());
  std::vector<double> infer_s;
  std::vector<int64_t> histogram(o.classes, 0);
  // The node's path (segmentation runner, bedside): the network loaded once, then labels per
  // volume; or (--infer-path probabilities) the one-off PredictProbabilities then ArgmaxLabels.
  const auto load_start = Clock::now();
  absl::StatusOr<nn::SegmentationPredictor> predictor = nn::SegmentationPredictor::Create(
      *init, "unet2d", config, {"cpu", o.infer_batch, o.precision});
  if (!predictor.ok()) return Fail(predictor.status());
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  scancov::LabelVolume last;
  for (int it = 0; it < o.warmup + o.iters; ++it) {
    const auto start = Clock::now();
    absl::StatusOr<scancov::LabelVolume> argmax;
    if (o.infer_path == "labels") {
      argmax = predictor->PredictLabels(infer_ct);
    } else {
      absl::StatusOr<nn::SegProbabilities> p =
          nn::PredictProbabilities(*init, "unet2d", config, infer_ct, "cpu");
      if (!p.ok()) return Fail(p.status());
      argmax = nn::ArgmaxLabels(*p);
    }
    if (!argmax.ok()) return Fail(argmax.status());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (it >= o.warmup) infer_s.push_back(seconds);
    std::fill(histogram.begin(), histogram.end(), 0);
    for (uint8_t l : argmax->voxels) ++histogram[l];
    last = *std::move(argmax);
  }
  // In another precision: the fraction of voxels labelled as float32 labels them (untimed).
  double same_as_fp32 = 1.0;
  if (predictor->precision() != "fp32") {
    absl::StatusOr<nn::SegmentationPredictor> fp32 =
        nn::SegmentationPredictor::Create(*init, "unet2d", config, {"cpu", o.infer_batch, "fp32"});
    if (!fp32.ok()) return Fail(fp32.status());
    absl::StatusOr<scancov::LabelVolume> reference = fp32->PredictLabels(infer_ct);
    if (!reference.ok()) return Fail(reference.status());
    int64_t same = 0;
    for (size_t v = 0; v < last.voxels.size(); ++v) same += last.voxels[v] == reference->voxels[v];
    same_as_fp32 = static_cast<double>(same) / std::max<size_t>(last.voxels.size(), 1);
  }

  int64_t parameters = 0;
  for (const auto& t : init->tensors()) {
    const bool buffer = t.name.find("running_") != std::string::npos ||
                        t.name.find("num_batches_tracked") != std::string::npos;
    if (!buffer) parameters += t.NumElements();
  }
  const double train_median = Median(step_s), infer_median = Median(infer_s);
  const scancov::bench::Machine machine = scancov::bench::ReadMachine();
  nlohmann::json out{{"side", "c++ (node)"},
                     {"threads", nn::TorchThreads()},
                     {"blas", MappedBlas()},
                     {"load", machine.load_start},
                     {"parameters", parameters},
                     {"state_tensors", init->size()},
                     {"loss_start", trained->metrics.loss_start},
                     {"train_loss_epoch", trained->metrics.train_loss_first_epoch},
                     {"train_step_s", step_s},
                     {"train_slices_per_s", train_median > 0 ? o.batch / train_median : 0.0},
                     {"infer_path", o.infer_path},
                     {"infer_batch", predictor->PredictionBatch(o.size, o.size)},
                     {"infer_precision", predictor->precision()},
                     {"infer_labels_as_fp32", same_as_fp32},
                     {"infer_load_s", load_s},
                     {"infer_s", infer_s},
                     {"infer_slices_per_s", infer_median > 0 ? o.infer_slices / infer_median : 0.0},
                     {"infer_label_histogram", histogram}};
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"The node's 2D U-Net, trained and run through models/nn, for issue 16"};
  app.add_option("--data-dir", o.data_dir, "where --write puts the data")->capture_default_str();
  app.add_flag("--write", o.write, "write the CT, labels and initial weights, then exit");
  app.add_option("--size", o.size, "slice size (pixels)")->capture_default_str();
  app.add_option("--batch", o.batch, "training batch (slices)")->capture_default_str();
  app.add_option("--classes", o.classes)->capture_default_str();
  app.add_option("--base-channels", o.base_channels)->capture_default_str();
  app.add_option("--depth", o.depth, "levels (5: 32-64-128-256-512)")->capture_default_str();
  app.add_option("--threads", o.threads, "LibTorch intra-op threads")->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed steps / calls")->capture_default_str();
  app.add_option("--iters", o.iters, "timed steps / calls")->capture_default_str();
  app.add_option("--infer-slices", o.infer_slices)->capture_default_str();
  app.add_option("--infer-path", o.infer_path,
                 "labels: a SegmentationPredictor loaded once, PredictLabels per call; "
                 "probabilities: PredictProbabilities then ArgmaxLabels per call")
      ->check(CLI::IsMember({"labels", "probabilities"}))
      ->capture_default_str();
  app.add_option("--infer-batch", o.infer_batch, "slices per forward pass (0: sized to memory)")
      ->capture_default_str();
  app.add_option("--precision", o.precision,
                 "inference: fp32, bf16 or auto (models/nn/precision.h)")
      ->check(CLI::IsMember({"fp32", "bf16", "auto"}))
      ->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return Run(o);
}
