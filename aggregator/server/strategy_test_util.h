// Helpers shared by the strategy tests (strategy_test.cc, strategy_fedopt_test.cc,
// strategy_robust_test.cc).
#ifndef SCANCOV_AGGREGATOR_STRATEGY_TEST_UTIL_H_
#define SCANCOV_AGGREGATOR_STRATEGY_TEST_UTIL_H_

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "aggregator/server/strategy.h"
#include "gtest/gtest.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator::testing {

// Distance in units in the last place between two finite floats (0 = equal).
inline int64_t Ulps(float a, float b) {
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};
  };
  return std::llabs(ordered(a) - ordered(b));
}

// A set from (name, shape, dtype, values) tuples; values narrowed by protocol::FromDoubles.
struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  protocol::DType dtype;
  std::vector<double> values;
};
inline protocol::TensorSet MakeSet(const std::vector<Spec>& specs) {
  protocol::TensorSet set;
  for (const Spec& s : specs) {
    EXPECT_TRUE(set.Add(protocol::FromDoubles(s.name, s.shape, s.dtype, s.values)).ok());
  }
  return set;
}

inline std::vector<double> Values(const protocol::TensorSet& set, const std::string& name) {
  const protocol::Tensor* t = set.Find(name);
  EXPECT_NE(t, nullptr) << name;
  return t ? protocol::ToDoubles(*t) : std::vector<double>{};
}

// A model with `layout`'s names, shapes and dtypes and normal(mean, sd) values (integers rounded).
inline protocol::TensorSet RandomLike(const protocol::TensorSet& layout, std::mt19937_64& rng,
                                      double mean, double sd) {
  std::normal_distribution<double> normal(mean, sd);
  protocol::TensorSet out;
  for (const protocol::Tensor& t : layout.tensors()) {
    std::vector<double> v(static_cast<size_t>(t.NumElements()));
    for (double& x : v) x = normal(rng);
    EXPECT_TRUE(out.Add(protocol::FromDoubles(t.name, t.shape, t.dtype, v)).ok());
  }
  return out;
}

inline absl::StatusOr<StrategyStep> RunStrategy(const std::string& spec,
                                                const protocol::TensorSet& global,
                                                const std::vector<ClientUpdate>& updates,
                                                const StrategyState& state = {}) {
  absl::StatusOr<std::unique_ptr<AggregationStrategy>> strategy = MakeStrategy(spec);
  if (!strategy.ok()) return strategy.status();
  return (*strategy)->Aggregate(global, updates, state);
}

}  // namespace scancov::aggregator::testing

#endif  // SCANCOV_AGGREGATOR_STRATEGY_TEST_UTIL_H_
