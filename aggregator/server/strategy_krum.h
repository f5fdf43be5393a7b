// Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui, Stainer 2017, "Machine Learning with
// Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS).
//
// With n updates of which at most f are Byzantine, each update's score is the sum of its squared
// Euclidean distances to its n - f - 2 closest other updates; Krum returns the update with the
// lowest score, Multi-Krum the unweighted mean of the m updates with the lowest scores. Both need
// n > 2f + 2 (the paper's condition; Finish refuses otherwise with FailedPrecondition), and
// Multi-Krum m <= n - f (more would have to include a possible Byzantine update). Ties are broken
// by site id, so the result does not depend on arrival order.
//
// Distances are over the floating tensors only: integer buffers (num_batches_tracked) count
// batches, not parameters, and would drown the distances between sites of different sizes. The
// integer tensors of the result are the chosen update's (Krum) or the rounded mean of the chosen
// ones (Multi-Krum). Sample counts are ignored. Not streaming: the accumulator is
// HeldAccumulator (strategy_robust.h); distances are summed tensor by tensor at Finish, in blocks
// that stay in cache, over threads.
#ifndef SCANCOV_AGGREGATOR_STRATEGY_KRUM_H_
#define SCANCOV_AGGREGATOR_STRATEGY_KRUM_H_

#include <memory>
#include <string>

#include "aggregator/server/strategy.h"

namespace scancov::aggregator {

class Krum : public AggregationStrategy {
 public:
  // m == 0: Krum; m >= 1: Multi-Krum.
  Krum(size_t f, size_t m) : f_(f), m_(m) {}
  std::string name() const override { return m_ == 0 ? "krum" : "multikrum"; }
  bool streaming() const override { return false; }
  std::unique_ptr<RoundAccumulator> Begin(const protocol::TensorSet& layout) const override;

 private:
  size_t f_;
  size_t m_;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STRATEGY_KRUM_H_
