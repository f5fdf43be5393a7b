// ModelRegistry: networks by name ("logistic", "severity_mlp", ...), each built from a JSON
// config string. Internal to models/nn; the node names models through local_training.h.
//
// This header does not include LibTorch (Network is only declared), so that the registry's own
// translation unit stays cheap; callers that use the created network include network.h.
//
// Adding a family of networks (2D U-Net, 2.5D/3D lesion nets, slice encoder): write
// `void RegisterXxxModels(ModelRegistry*)` beside the networks, declare it below, and call it
// from ModelRegistry::Default() in model_registry.cc. Registration is explicit (no static
// initialisers), so a static link never drops a model.
//
// Thread-safe: Register, Create and Names may be called concurrently.
#ifndef SCANCOV_MODELS_NN_MODEL_REGISTRY_H_
#define SCANCOV_MODELS_NN_MODEL_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace scancov::nn {

class Network;

// Builds a freshly initialised network (on the CPU, from LibTorch's default generator) from a
// config string, or says why the config does not describe one.
using NetworkFactory =
    std::function<absl::StatusOr<std::shared_ptr<Network>>(absl::string_view config_json)>;

class ModelRegistry {
 public:
  ModelRegistry() = default;
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // The process-wide registry with every built-in model (never destroyed).
  static ModelRegistry& Default();

  // AlreadyExists if `name` is taken; InvalidArgument if it is empty or `factory` is null.
  absl::Status Register(absl::string_view name, NetworkFactory factory);

  // NotFound (listing the known names) for an unknown model; else the factory's result.
  // LibTorch exceptions thrown by the factory are turned into a Status.
  absl::StatusOr<std::shared_ptr<Network>> Create(absl::string_view name,
                                                  absl::string_view config_json) const;

  // Registered names, sorted.
  std::vector<std::string> Names() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, NetworkFactory, std::less<>> factories_ ABSL_GUARDED_BY(mu_);
};

// Built-in families; each is defined beside its networks.
void RegisterTabularModels(ModelRegistry* registry);       // local_training.cc
void RegisterSegmentationModels(ModelRegistry* registry);  // seg_models.cc
void RegisterSeverityModels(ModelRegistry* registry);      // slice_encoder.cc

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_MODEL_REGISTRY_H_
