// The round strategy of secure aggregation (aggregator/server/secagg_rounds.h): the masked
// uploads (int64 tensors holding elements of the ring Z_2^64, the round model's names and
// shapes) are summed modulo 2^64 as they arrive, one running sum whatever the number of sites.
// Finish returns that ring sum as int64 tensors; the masks come off afterwards (SecAggRounds::
// Finish), so this strategy never sees, and never could see, one site's update.
//
// Thread safety: as strategy.h.
#ifndef SCANCOV_AGGREGATOR_SERVER_STRATEGY_RING_SUM_H_
#define SCANCOV_AGGREGATOR_SERVER_STRATEGY_RING_SUM_H_

#include <memory>
#include <string>
#include <vector>

#include "aggregator/server/strategy.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

class RingSumStrategy : public AggregationStrategy {
 public:
  std::string name() const override { return "secagg_ring_sum"; }
  bool streaming() const override { return true; }
  // `layout`: the masked uploads' (RingLayout of the round model).
  std::unique_ptr<RoundAccumulator> Begin(const protocol::TensorSet& layout) const override;
};

// The layout of a masked upload for a round model of `model`'s layout: the same names and
// shapes, every tensor int64 (values unused, zero).
protocol::TensorSet RingLayout(const protocol::TensorSet& model);
// The same for a manifest (dtype int64, sizes of 8 bytes an element; chunk fields untouched).
v1::WeightsManifest RingLayout(const v1::WeightsManifest& model);
// The ring sum's tensors, in order, as one vector; and the element count of a manifest.
std::vector<uint64_t> RingVector(const protocol::TensorSet& ring_sum);
uint64_t ElementCount(const v1::WeightsManifest& manifest);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_STRATEGY_RING_SUM_H_
