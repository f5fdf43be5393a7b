#include "bench/federation_load/synthetic_model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace scancov::bench {
namespace {

constexpr int kDepth = 5;

// xorshift64*: fast enough that filling hundreds of MB costs little next to hashing them.
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  // Uniform in [-1, 1).
  float Symmetric() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    const uint64_t x = state_ * 0x2545F4914F6CDD1Dull;
    return static_cast<float>(static_cast<int32_t>(x >> 32)) * (1.0f / 2147483648.0f);
  }

 private:
  uint64_t state_;
};

void AddConvBlock(std::vector<protocol::Tensor>& out, const std::string& name, int64_t in,
                  int64_t ch) {
  for (int i = 0; i < 2; ++i) {
    const std::string conv = name + ".conv" + std::to_string(i + 1);
    out.push_back({conv + ".weight", {ch, i == 0 ? in : ch, 3, 3}, protocol::DType::kFloat32, {}});
    out.push_back({conv + ".bias", {ch}, protocol::DType::kFloat32, {}});
    const std::string bn = name + ".bn" + std::to_string(i + 1);
    for (const char* p : {".weight", ".bias", ".running_mean", ".running_var"}) {
      out.push_back({bn + p, {ch}, protocol::DType::kFloat32, {}});
    }
  }
}

std::vector<protocol::Tensor> UNetTensors(int64_t c) {
  std::vector<protocol::Tensor> out;
  int64_t in = 1;
  for (int level = 0; level < kDepth; ++level) {
    const int64_t ch = c << level;
    AddConvBlock(out, "down" + std::to_string(level), in, ch);
    in = ch;
  }
  for (int level = kDepth - 2; level >= 0; --level) {
    const int64_t ch = c << level;
    const std::string up = "up" + std::to_string(level);
    out.push_back({up + ".upconv.weight", {in, ch, 2, 2}, protocol::DType::kFloat32, {}});
    out.push_back({up + ".upconv.bias", {ch}, protocol::DType::kFloat32, {}});
    AddConvBlock(out, up, 2 * ch, ch);  // skip connection concatenated
    in = ch;
  }
  out.push_back({"head.weight", {2, in, 1, 1}, protocol::DType::kFloat32, {}});
  out.push_back({"head.bias", {2}, protocol::DType::kFloat32, {}});
  return out;
}

uint64_t Floats(const std::vector<protocol::Tensor>& tensors) {
  uint64_t n = 0;
  for (const protocol::Tensor& t : tensors) n += static_cast<uint64_t>(t.NumElements());
  return n;
}

}  // namespace

ModelLayout UNetLayout(uint64_t target_bytes) {
  const uint64_t target = std::max<uint64_t>(1, target_bytes / 4);
  ModelLayout layout;
  // The parameter count grows as c^2: step up while the next width still fits.
  int64_t c = 0;
  while (Floats(UNetTensors(c + 1)) <= target) ++c;
  if (c > 0) layout.tensors = UNetTensors(c);
  layout.base_channels = static_cast<int>(c);
  const uint64_t rest = target - Floats(layout.tensors);
  if (rest > 0) {
    layout.tensors.push_back({"pad", {static_cast<int64_t>(rest)}, protocol::DType::kFloat32, {}});
  }
  layout.bytes = 4 * target;
  return layout;
}

protocol::TensorSet MakeModel(const ModelLayout& layout, uint64_t seed) {
  FastRandom rng(seed);
  protocol::TensorSet set;
  for (const protocol::Tensor& shape : layout.tensors) {
    protocol::Tensor t{shape.name, shape.shape, protocol::DType::kFloat32, {}};
    const size_t n = static_cast<size_t>(shape.NumElements());
    t.bytes.resize(n * sizeof(float));
    for (size_t i = 0; i < n; ++i) {
      const float x = 0.05f * rng.Symmetric();
      std::memcpy(t.bytes.data() + 4 * i, &x, 4);
    }
    if (!set.Add(std::move(t)).ok()) std::abort();  // names are unique by construction
  }
  return set;
}

protocol::TensorSet MakeUpdate(const protocol::TensorSet& global, uint64_t seed, float scale) {
  FastRandom rng(seed);
  protocol::TensorSet update;
  for (const protocol::Tensor& g : global.tensors()) {
    protocol::Tensor t{g.name, g.shape, g.dtype, g.bytes};
    if (t.dtype == protocol::DType::kFloat32) {
      const size_t n = t.bytes.size() / sizeof(float);
      char* p = t.bytes.data();
      for (size_t i = 0; i < n; ++i) {
        float x;
        std::memcpy(&x, p + 4 * i, 4);
        x += scale * rng.Symmetric();
        std::memcpy(p + 4 * i, &x, 4);
      }
    }
    if (!update.Add(std::move(t)).ok()) std::abort();  // the global's layout is valid
  }
  return update;
}

}  // namespace scancov::bench
