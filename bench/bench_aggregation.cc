// bench_aggregation: how fast the aggregator folds client updates into a round (issue 13).
//
//   bench_aggregation                 # 30.7 MB float32 model, N = 10 and 100, 1 and 2 threads
//   bench_aggregation --quick         # N = 10 only, one repetition (a smoke run)
//
// The model is ResNet-like: three 512x512x3x3 and one 256x256x3x3 float32 convolutions, BatchNorm
// vectors and an int64 num_batches_tracked (7.67 M elements, 30.7 MB). K = 10 distinct random
// updates (307 MB, far beyond any cache) are folded in turn, cycling for N = 100, as a round
// whose uploads are read back tensor by tensor (AddTensor).
//
// Throughput = update bytes folded per second. Baselines measured in the same run over the same
// bytes, split over the same number of threads:
//   - triad: the hand-written loop a[i] += w * b[i] (float b, double a; the fold's access
//     pattern: read 4 bytes of update, read and write 8 bytes of accumulator per element), on an
//     accumulator allocated like the fold's (kernels::Buffer);
//   - memcpy: copying each update into one model-sized buffer.
// Each figure is the median of 3 repetitions (1 with --quick).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aggregator/server/aggregation_kernels.h"
#include "aggregator/server/strategy.h"

namespace {

using scancov::aggregator::AggregationStrategy;
using scancov::aggregator::ClientUpdate;
using scancov::aggregator::MakeStrategy;
using scancov::aggregator::RoundAccumulator;
using scancov::protocol::DType;
using scancov::protocol::Tensor;
using scancov::protocol::TensorSet;
using Clock = std::chrono::steady_clock;

constexpr size_t kDistinct = 10;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Tensor RandomTensor(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (float& x : v) x = normal(rng);
  Tensor t{name, std::move(shape), DType::kFloat32, {}};
  t.bytes.assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  return t;
}

TensorSet RandomModel(std::mt19937& rng) {
  TensorSet m;
  auto add = [&](Tensor t) {
    if (!m.Add(std::move(t)).ok()) std::abort();
  };
  add(RandomTensor("layer0.conv", {256, 256, 3, 3}, rng));
  for (int i = 1; i <= 3; ++i) {
    add(RandomTensor("layer" + std::to_string(i) + ".conv", {512, 512, 3, 3}, rng));
    add(RandomTensor("layer" + std::to_string(i) + ".bn.weight", {512}, rng));
    add(RandomTensor("layer" + std::to_string(i) + ".bn.bias", {512}, rng));
  }
  const int64_t tracked = 1000 + rng() % 100;
  add(Tensor{"bn.num_batches_tracked",
             {},
             DType::kInt64,
             std::string(reinterpret_cast<const char*>(&tracked), 8)});
  return m;
}

// Splits [0, n) over `threads` std::threads (the caller runs the first part).
template <typename Fn>
void Split(size_t n, int threads, Fn fn) {
  std::vector<std::thread> pool;
  const size_t step = (n + threads - 1) / threads;
  for (int k = 1; k < threads; ++k) {
    const size_t b = std::min(n, k * step), e = std::min(n, b + step);
    pool.emplace_back([=] { fn(b, e); });
  }
  fn(0, std::min(n, step));
  for (std::thread& t : pool) t.join();
}

// The triad over every float32 tensor of every update (the fold's access pattern, hand-written).
double Triad(const std::vector<TensorSet>& models, size_t updates, int threads, double* acc) {
  const auto t0 = Clock::now();
  for (size_t u = 0; u < updates; ++u) {
    const TensorSet& m = models[u % models.size()];
    const double w = 1.0 + u;
    size_t offset = 0;
    for (const Tensor& t : m.tensors()) {
      const size_t n = t.bytes.size() / 4;
      if (t.dtype == DType::kFloat32) {
        const float* b = reinterpret_cast<const float*>(t.bytes.data());
        double* a = acc + offset;
        Split(n, n > (1u << 18) ? threads : 1, [=](size_t begin, size_t end) {
          for (size_t i = begin; i < end; ++i) a[i] += w * b[i];
        });
      }
      offset += n;
    }
  }
  return Since(t0);
}

double Memcpy(const std::vector<TensorSet>& models, size_t updates, int threads, std::string& dst) {
  const auto t0 = Clock::now();
  for (size_t u = 0; u < updates; ++u) {
    size_t offset = 0;
    for (const Tensor& t : models[u % models.size()].tensors()) {
      const char* src = t.bytes.data();
      char* out = dst.data() + offset;
      Split(t.bytes.size(), t.bytes.size() > (1u << 20) ? threads : 1,
            [=](size_t b, size_t e) { std::memcpy(out + b, src + b, e - b); });
      offset += t.bytes.size();
    }
  }
  return Since(t0);
}

struct Timing {
  double begin = 0, fold = 0, finish = 0;
  uint64_t held = 0;
};

// Begin, BeginUpdate + AddTensor for each tensor + EndUpdate for N updates, Finish.
Timing Fold(const AggregationStrategy& strategy, const std::vector<TensorSet>& models,
            size_t updates) {
  const TensorSet& layout = models[0];
  Timing timing;
  auto t0 = Clock::now();
  std::unique_ptr<RoundAccumulator> round = strategy.Begin(layout);
  timing.begin = Since(t0);
  t0 = Clock::now();
  for (size_t u = 0; u < updates; ++u) {
    const TensorSet& m = models[u % models.size()];
    bool ok = round->BeginUpdate("site" + std::to_string(u), 100 + u).ok();
    for (size_t i = 0; i < m.size(); ++i) ok = ok && round->AddTensor(i, m.tensors()[i]).ok();
    if (!ok || !round->EndUpdate().ok()) std::abort();
  }
  timing.fold = Since(t0);
  timing.held = round->bytes_held();
  const auto t1 = Clock::now();
  if (!round->Finish(layout, {}).ok()) std::abort();
  timing.finish = Since(t1);
  return timing;
}

void Row(const char* what, int threads, size_t updates, double seconds, double bytes,
         double baseline_gbs, const std::string& note) {
  const double gbs = bytes / seconds / 1e9;
  std::printf("| %-30s | %d | %4zu | %8.3f | %6.2f | %s | %s |\n", what, threads, updates, seconds,
              gbs,
              baseline_gbs > 0 ? (std::to_string(gbs / baseline_gbs).substr(0, 4)).c_str() : "-",
              note.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int reps = quick ? 1 : 3;
  std::mt19937 rng(13);
  std::vector<TensorSet> models;
  for (size_t k = 0; k < kDistinct; ++k) models.push_back(RandomModel(rng));
  const double model_bytes = static_cast<double>(models[0].TotalBytes());
  size_t elements = 0;
  for (const Tensor& t : models[0].tensors())
    elements += t.bytes.size() / (t.dtype == DType::kInt64 ? 8 : 4);
  std::printf(
      "model: %zu tensors, %zu elements, %.1f MB; %zu distinct updates; hardware threads %u\n\n",
      models[0].size(), elements, model_bytes / 1e6, kDistinct,
      std::thread::hardware_concurrency());
  std::printf("| case | threads | N | seconds | GB/s of update bytes | / triad | note |\n");
  std::printf("|---|---|---|---|---|---|---|\n");

  auto fedavg = MakeStrategy("fedavg");
  auto median = MakeStrategy("median");
  auto krum = MakeStrategy("krum:2");
  if (!fedavg.ok() || !median.ok() || !krum.ok()) return 1;
  // The same kind of memory as the fold's accumulator (huge pages where the kernel allows).
  scancov::aggregator::kernels::Buffer acc(elements * sizeof(double));
  std::string dst(models[0].TotalBytes(), '\0');
  const std::vector<size_t> sizes = quick ? std::vector<size_t>{10} : std::vector<size_t>{10, 100};
  for (int threads : {1, 2}) {
    scancov::aggregator::kernels::SetThreads(threads);
    for (size_t n : sizes) {
      std::vector<double> triad, copy, begin, fold, finish;
      uint64_t held = 0;
      for (int r = 0; r < reps; ++r) {
        triad.push_back(Triad(models, n, threads, acc.doubles()));
        copy.push_back(Memcpy(models, n, threads, dst));
        const Timing t = Fold(**fedavg, models, n);
        begin.push_back(t.begin);
        fold.push_back(t.fold);
        finish.push_back(t.finish);
        held = t.held;
      }
      const double bytes = n * model_bytes;
      const double triad_gbs = bytes / Median(triad) / 1e9;
      Row("baseline triad a[i] += w*b[i]", threads, n, Median(triad), bytes, triad_gbs, "");
      Row("baseline memcpy", threads, n, Median(copy), bytes, triad_gbs, "");
      Row("fedavg fold (AddTensor)", threads, n, Median(fold), bytes, triad_gbs,
          "held " + std::to_string(held / 1000000) + " MB");
      std::printf("| %-30s | %d | %4zu | %8.3f | - | - | allocate the accumulator |\n",
                  "fedavg Begin", threads, n, Median(begin));
      std::printf("| %-30s | %d | %4zu | %8.3f | - | - | divide, narrow to float32 |\n",
                  "fedavg Finish", threads, n, Median(finish));
    }
    for (const auto* s : {&median, &krum}) {
      std::vector<double> fold, finish;
      uint64_t held = 0;
      for (int r = 0; r < reps; ++r) {
        const Timing t = Fold(***s, models, kDistinct);
        fold.push_back(t.begin + t.fold);
        finish.push_back(t.finish);
        held = t.held;
      }
      const double total = Median(fold) + Median(finish);
      const std::string name = (**s)->name() + (s == &krum ? ":2" : "") + " (fold + Finish)";
      Row(name.c_str(), threads, kDistinct, total, kDistinct * model_bytes, 0,
          "Finish " + std::to_string(Median(finish)).substr(0, 5) + " s, held " +
              std::to_string(held / 1000000) + " MB");
    }
  }
  scancov::aggregator::kernels::SetThreads(0);
  return 0;
}
