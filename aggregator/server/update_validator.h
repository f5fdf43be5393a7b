// Validate before you aggregate: every client update is checked against the round's global
// model before it is stored, and refused with a precise reason otherwise.
#ifndef SCANCOV_AGGREGATOR_UPDATE_VALIDATOR_H_
#define SCANCOV_AGGREGATOR_UPDATE_VALIDATOR_H_

#include "absl/status/status.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

// Checks: sample count > 0; same tensor names (in order), shapes and dtypes as `reference`
// (when the reference is non-empty); every floating value finite.
absl::Status ValidateUpdate(const protocol::TensorSet* reference, const protocol::TensorSet& update,
                            uint64_t num_samples);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_UPDATE_VALIDATOR_H_
