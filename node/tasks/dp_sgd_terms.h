// DpSgdTerms: how the running task must train when its study asks for sample-level DP-SGD, as
// the gate's DP layer admitted it (node/dp_filter.h). The plug-in that trains takes them from the
// DpSgdBoard, never from the task's privacy options itself, so that DP policy stays in one place;
// the gate checks afterwards that they were taken before it releases the weights.
//
// Thread safety: not thread-safe; the node runs one task at a time.
#ifndef SCANCOV_NODE_TASKS_DP_SGD_TERMS_H_
#define SCANCOV_NODE_TASKS_DP_SGD_TERMS_H_

#include <cstdint>
#include <optional>

#include "privacy/dp/gaussian_source.h"

namespace scancov::node {

struct DpSgdTerms {
  double clip_norm = 1.0;         // C: each example's gradient is clipped to this L2 norm
  double noise_multiplier = 1.0;  // sigma: N(0, (sigma C)^2) per coordinate of each step's sum
  double sample_rate = 1.0;       // q: Poisson rate of each step's batch
  int64_t steps_per_epoch = 1;    // round(1 / q); the epochs are the task's plan.local_epochs
  // The gate's noise source (a CSPRNG in production), for the noise and the Poisson sampling.
  // Owned by the gate; valid while the task runs.
  privacy::dp::GaussianSource* noise = nullptr;
};

// Where the gate posts the running task's terms and its plug-in takes them. Owned by the task
// host (node/tasks/task_host.h), shared by the gate and the plug-ins.
class DpSgdBoard {
 public:
  // Before a task runs: its terms (nullopt: it trains without DP-SGD).
  void Open(std::optional<DpSgdTerms> terms) {
    terms_ = terms;
    taken_ = false;
  }
  void Close() { terms_.reset(); }
  // The running task's terms, if any; marks them taken.
  std::optional<DpSgdTerms> Take() {
    if (terms_) taken_ = true;
    return terms_;
  }
  // Whether the last task's terms were taken (until the next Open).
  bool taken() const { return taken_; }

 private:
  std::optional<DpSgdTerms> terms_;
  bool taken_ = false;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASKS_DP_SGD_TERMS_H_
