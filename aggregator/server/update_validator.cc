#include "aggregator/server/update_validator.h"

#include "core/status_macros.h"

namespace scancov::aggregator {

absl::Status ValidateUpdate(const protocol::TensorSet* reference, const protocol::TensorSet& update,
                            uint64_t num_samples) {
  if (num_samples == 0) return absl::InvalidArgumentError("update: sample count must be > 0");
  if (update.empty()) return absl::InvalidArgumentError("update: no tensors");
  if (reference != nullptr && !reference->empty()) {
    SCV_RETURN_IF_ERROR(Annotate(reference->CheckSameLayout(update), "update"));
  }
  return Annotate(protocol::CheckAllFinite(update), "update");
}

}  // namespace scancov::aggregator
