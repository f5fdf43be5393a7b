#include "models/nn/model_registry.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace scancov::nn {

ModelRegistry& ModelRegistry::Default() {
  static ModelRegistry* registry = [] {
    auto* r = new ModelRegistry();
    RegisterTabularModels(r);
    RegisterSegmentationModels(r);
    RegisterSeverityModels(r);
    return r;
  }();
  return *registry;
}

absl::Status ModelRegistry::Register(absl::string_view name, NetworkFactory factory) {
  if (name.empty()) return absl::InvalidArgumentError("model registry: empty model name");
  if (!factory) {
    return absl::InvalidArgumentError(
        absl::StrCat("model registry: null factory for '", name, "'"));
  }
  absl::MutexLock lock(&mu_);
  if (!factories_.emplace(std::string(name), std::move(factory)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("model registry: '", name, "' is already registered"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Network>> ModelRegistry::Create(
    absl::string_view name, absl::string_view config_json) const {
  NetworkFactory factory;
  {
    absl::MutexLock lock(&mu_);
    auto it = factories_.find(name);
    if (it == factories_.end()) {
      std::vector<std::string> known;
      for (const auto& [known_name, unused] : factories_) known.push_back(known_name);
      return absl::NotFoundError(absl::StrCat("model registry: unknown model '", name,
                                              "' (known: ", absl::StrJoin(known, ", "), ")"));
    }
    factory = it->second;
  }
  // Built outside the lock: a large network may take a while to initialise. std::exception
  // covers c10::Error, which the factories should already have turned into a Status.
  try {
    return factory(config_json);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model '", name, "': ", e.what()));
  }
}

std::vector<std::string> ModelRegistry::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, unused] : factories_) names.push_back(name);
  return names;
}

}  // namespace scancov::nn
