#include "aggregator/server/strategy_krum.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregator/server/aggregation_kernels.h"
#include "aggregator/server/strategy_robust.h"

namespace scancov::aggregator {
namespace {

using protocol::Tensor;
using protocol::TensorSet;

class KrumAccumulator : public HeldAccumulator {
 public:
  KrumAccumulator(std::string name, size_t f, size_t m, const TensorSet& layout)
      : HeldAccumulator(std::move(name), layout), f_(f), m_(m) {}

 protected:
  absl::StatusOr<StrategyStep> OnFinish(const TensorSet&, const StrategyState& state) override {
    if (absl::Status s = RequireNoState(state); !s.ok()) return s;
    const size_t n = held().size();
    if (n <= 2 * f_ + 2) {
      return absl::FailedPreconditionError(absl::StrCat(
          "f=", f_, " Byzantine updates need more than 2f+2 = ", 2 * f_ + 2, " updates, got ", n));
    }
    if (m_ > n - f_) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot average m=", m_, " updates: at most n-f = ", n - f_));
    }
    const std::vector<size_t> order = RankByScore(SquaredDistances());
    const size_t chosen = m_ == 0 ? 1 : m_;
    StrategyStep step;
    for (size_t t = 0; t < layout().size(); ++t) {
      const TensorSlot& slot = layout().slot(t);
      Tensor out{slot.name, slot.shape, slot.dtype, {}};
      if (m_ == 0) {
        out.bytes.assign(held()[order[0]].tensor(slot),
                         slot.elements * protocol::DTypeSize(slot.dtype));
      } else {
        std::vector<double> sum(slot.elements, 0.0);
        for (size_t r = 0; r < chosen; ++r) {
          kernels::AccumulateScaled(slot.dtype, held()[order[r]].tensor(slot), slot.elements, 1.0,
                                    sum.data());
        }
        out.bytes.resize(slot.elements * protocol::DTypeSize(slot.dtype));
        kernels::NarrowDivided(sum.data(), slot.elements, static_cast<double>(chosen), slot.dtype,
                               out.bytes.data());
      }
      if (absl::Status s = step.global.Add(std::move(out)); !s.ok()) return s;
    }
    return step;
  }

 private:
  // d[i * n + j] = squared distance between updates i and j over the floating tensors.
  std::vector<double> SquaredDistances() const {
    constexpr size_t kBlock = 4096;  // n blocks of 4096 elements stay in L2 for n in the tens
    const size_t n = held().size();
    std::vector<double> d(n * n, 0.0);
    for (size_t t = 0; t < layout().size(); ++t) {
      const TensorSlot& slot = layout().slot(t);
      if (!protocol::IsFloating(slot.dtype)) continue;
      const size_t width = protocol::DTypeSize(slot.dtype);
      // Per-range sums, added in range order so that the result does not depend on threads.
      std::mutex mu;
      std::map<size_t, std::vector<double>> ranges;
      kernels::ParallelFor(slot.elements, [&](size_t begin, size_t end) {
        std::vector<double> local(n * n, 0.0);
        for (size_t start = begin; start < end; start += kBlock) {
          const size_t len = std::min(kBlock, end - start);
          for (size_t i = 0; i < n; ++i) {
            const char* a = held()[i].tensor(slot) + start * width;
            for (size_t j = i + 1; j < n; ++j) {
              local[i * n + j] += kernels::SquaredDistance(
                  slot.dtype, a, held()[j].tensor(slot) + start * width, len);
            }
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        ranges.emplace(begin, std::move(local));
      });
      for (const auto& [begin, local] : ranges) {
        for (size_t i = 0; i < n; ++i) {
          for (size_t j = i + 1; j < n; ++j) {
            d[i * n + j] += local[i * n + j];
            d[j * n + i] += local[i * n + j];
          }
        }
      }
    }
    return d;
  }

  // Update indices by increasing score (ties: site id, then arrival).
  std::vector<size_t> RankByScore(const std::vector<double>& d) const {
    const size_t n = held().size();
    const size_t closest = n - f_ - 2;
    std::vector<double> score(n), others;
    for (size_t i = 0; i < n; ++i) {
      others.clear();
      for (size_t j = 0; j < n; ++j) {
        if (j != i) others.push_back(d[i * n + j]);
      }
      std::partial_sort(others.begin(), others.begin() + closest, others.end());
      score[i] = std::accumulate(others.begin(), others.begin() + closest, 0.0);
    }
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (score[a] != score[b]) return score[a] < score[b];
      return held()[a].site_id < held()[b].site_id;
    });
    return order;
  }

  const size_t f_;
  const size_t m_;
};

}  // namespace

std::unique_ptr<RoundAccumulator> Krum::Begin(const TensorSet& layout) const {
  return std::make_unique<KrumAccumulator>(name(), f_, m_, layout);
}

}  // namespace scancov::aggregator
