// The learned path (built only with SCANCOV_WITH_TORCH; learned_segmentation_stub.cc otherwise).
// No LibTorch header here: models/nn/segmentation.h is the facade.
#include "node/bedside/learned_segmentation.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "models/ct/lesion_quantification.h"
#include "models/ct/preprocessing.h"
#include "models/nn/checkpoint.h"
#include "models/nn/local_training.h"
#include "models/nn/precision.h"
#include "models/nn/seg_config.h"
#include "models/nn/seg_predictor.h"
#include "models/nn/seg_probabilities.h"
#include "models/nn/segmentation.h"

namespace scancov::node {
namespace {

// Loads `path` and checks it holds a segmentation model of one of `models` with `classes`.
absl::StatusOr<nn::Checkpoint> LoadSegCheckpoint(const std::string& path,
                                                 const std::vector<std::string>& models,
                                                 int classes, const std::string& role) {
  absl::StatusOr<nn::Checkpoint> ckpt = nn::LoadCheckpoint(path);
  if (!ckpt.ok()) {
    return absl::Status(ckpt.status().code(), absl::StrCat(role, " model ", path, ": ",
                                                           std::string(ckpt.status().message())));
  }
  if (std::find(models.begin(), models.end(), ckpt->model) == models.end()) {
    return absl::InvalidArgumentError(absl::StrCat(role, " model ", path, ": holds a '",
                                                   ckpt->model, "' model, expected ",
                                                   absl::StrJoin(models, " or ")));
  }
  absl::StatusOr<nn::SegNetConfig> config =
      nn::ParseSegNetConfig(ckpt->model, ckpt->model_config_json);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(role, " model ", path, ": ", std::string(config.status().message())));
  }
  if (config->num_classes != classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        role, " model ", path, ": predicts ", config->num_classes, " classes, expected ", classes));
  }
  return ckpt;
}

// The slice size to run the models at: the caller's, or (in_plane < 0) the one recorded in the
// checkpoints, which must then agree (an ensemble runs on one grid).
absl::StatusOr<int> ResolveInPlane(const std::vector<nn::Checkpoint>& ckpts,
                                   const std::vector<std::string>& paths,
                                   const LearnedOptions& options) {
  if (options.in_plane >= 0) return options.in_plane;
  for (size_t i = 1; i < ckpts.size(); ++i) {
    if (ckpts[i].in_plane != ckpts[0].in_plane) {
      return absl::InvalidArgumentError(absl::StrCat(
          "models ", paths[0], " and ", paths[i], " were trained at different slice sizes (",
          ckpts[0].in_plane, " and ", ckpts[i].in_plane, "); pass --model-in-plane"));
    }
  }
  return ckpts.empty() ? 0 : ckpts[0].in_plane;
}

// Names the model a failure came from.
template <typename T>
absl::StatusOr<T> WithModelPath(absl::StatusOr<T> result, const std::string& path) {
  if (result.ok()) return result;
  return absl::Status(result.status().code(),
                      absl::StrCat("model ", path, ": ", std::string(result.status().message())));
}

absl::StatusOr<HuVolume> ModelInput(const HuVolume& hu, int in_plane, int threads) {
  if (in_plane <= 0) return hu;
  return ct::FitInPlaneHu(hu, in_plane, threads);
}

LabelVolume ToNative(LabelVolume labels, const HuVolume& hu, int in_plane) {
  if (in_plane <= 0) return labels;
  return NativeLabels(labels, hu.nx, hu.ny, hu.spacing);
}

// The network of `ckpt`, loaded once for what is predicted with it.
absl::StatusOr<nn::SegmentationPredictor> LoadPredictor(const nn::Checkpoint& ckpt,
                                                        const std::string& path,
                                                        const LearnedOptions& options) {
  // LibTorch's own pool follows --threads (0: every core): left alone, LibTorch 1.13 takes the
  // physical cores it counts, one on a 2-vCPU machine (bench/unet_side_by_side.sh).
  nn::SetTorchThreads(options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  nn::SegPredictOptions predict;
  predict.device = options.device;
  predict.precision = options.precision;
  return WithModelPath(
      nn::SegmentationPredictor::Create(ckpt.weights, ckpt.model, ckpt.model_config_json, predict),
      path);
}

// ArgmaxLabels(EnsembleAverage(each model's probabilities), mask). A single model (the mean of
// one member is that member) gives its labels without the probability volume.
absl::StatusOr<LabelVolume> EnsembleLabels(const std::vector<nn::Checkpoint>& ckpts,
                                           const std::vector<std::string>& paths,
                                           const HuVolume& input, const LabelVolume& mask,
                                           const LearnedOptions& options) {
  std::vector<nn::SegProbabilities> members;
  for (size_t i = 0; i < ckpts.size(); ++i) {
    SCV_ASSIGN_OR_RETURN(nn::SegmentationPredictor predictor,
                         LoadPredictor(ckpts[i], paths[i], options));
    if (ckpts.size() == 1) return WithModelPath(predictor.PredictLabels(input, &mask), paths[i]);
    SCV_ASSIGN_OR_RETURN(nn::SegProbabilities p, WithModelPath(predictor.Predict(input), paths[i]));
    members.push_back(std::move(p));
  }
  SCV_ASSIGN_OR_RETURN(nn::SegProbabilities mean, nn::EnsembleAverage(members));
  members.clear();
  return nn::ArgmaxLabels(mean, &mask);
}

}  // namespace

bool LearnedSegmentationAvailable() { return true; }

absl::StatusOr<std::string> LearnedPrecision(const LearnedOptions& options) {
  SCV_ASSIGN_OR_RETURN(const nn::Precision precision,
                       nn::ResolvePrecisionOn(options.precision, options.device));
  return nn::PrecisionName(precision);
}

absl::StatusOr<LabelVolume> PredictLungLabels(const std::string& checkpoint, const HuVolume& hu,
                                              const LearnedOptions& options) {
  SCV_ASSIGN_OR_RETURN(nn::Checkpoint ckpt, LoadSegCheckpoint(checkpoint, {"unet2d"}, 3, "lung"));
  SCV_ASSIGN_OR_RETURN(const int in_plane, ResolveInPlane({ckpt}, {checkpoint}, options));
  SCV_ASSIGN_OR_RETURN(HuVolume input, ModelInput(hu, in_plane, options.threads));
  SCV_ASSIGN_OR_RETURN(nn::SegmentationPredictor predictor,
                       LoadPredictor(ckpt, checkpoint, options));
  SCV_ASSIGN_OR_RETURN(LabelVolume labels,
                       WithModelPath(predictor.PredictLabels(input), checkpoint));
  return ToNative(std::move(labels), hu, in_plane);
}

absl::StatusOr<LabelVolume> PredictLesionLabels(const std::vector<std::string>& checkpoints,
                                                const HuVolume& hu, const LabelVolume& lungs,
                                                const LearnedOptions& options) {
  if (checkpoints.empty()) return absl::InvalidArgumentError("lesion models: none given");
  std::vector<nn::Checkpoint> ckpts;
  for (const std::string& path : checkpoints) {
    SCV_ASSIGN_OR_RETURN(nn::Checkpoint ckpt,
                         LoadSegCheckpoint(path, {"unet25d", "unet3d"}, 5, "lesion"));
    ckpts.push_back(std::move(ckpt));
  }
  SCV_ASSIGN_OR_RETURN(const int in_plane, ResolveInPlane(ckpts, checkpoints, options));
  SCV_ASSIGN_OR_RETURN(HuVolume input, ModelInput(hu, in_plane, options.threads));
  // Argmax over the tissue classes everywhere (a lung mask of ones), then the series' own lung
  // mask on the native grid: every lung voxel gets a class >= 1, the rest 0.
  LabelVolume everywhere(input.nx, input.ny, input.nz, input.spacing, 1);
  SCV_ASSIGN_OR_RETURN(LabelVolume fitted,
                       EnsembleLabels(ckpts, checkpoints, input, everywhere, options));
  LabelVolume labels = ToNative(std::move(fitted), hu, in_plane);
  for (size_t v = 0; v < labels.voxels.size(); ++v) {
    if (lungs.voxels[v] == 0) {
      labels.voxels[v] = ct::kLesionBackground;
    } else if (labels.voxels[v] == ct::kLesionBackground) {
      labels.voxels[v] = ct::kLesionHealthy;
    }
  }
  return labels;
}

}  // namespace scancov::node
