// Test-only: a handful of numbers that pin a TensorSet (the first values of a few named tensors,
// the sum and the sum of squares over every floating tensor), so that a test can check that a
// refactoring of training leaves the trained weights of a fixed seed unchanged. Recorded
// values are compared within a relative float tolerance: the same LibTorch build is bit-exact,
// but another thread count may move the last bits of a sum. The BLAS moves more than that (one
// round of the 2.5D U-Net differs by 4e-4 between the reference BLAS and OpenBLAS): the pins
// are recorded with what scripts/install-deps.sh installs, Debian 12's LibTorch 1.13 on
// OpenBLAS 0.3.21 with its Haswell kernels (OPENBLAS_CORETYPE, set for every test by
// cmake/ScancovHelpers.cmake). Header-only; no LibTorch.
#ifndef SCANCOV_MODELS_NN_WEIGHT_PINS_TEST_UTIL_H_
#define SCANCOV_MODELS_NN_WEIGHT_PINS_TEST_UTIL_H_

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

// The first two values of each of `names`, then the sum and the sum of squares of all the
// floating values of `set`.
inline std::vector<double> WeightPins(const protocol::TensorSet& set,
                                      const std::vector<std::string>& names) {
  std::vector<double> pins;
  for (const std::string& name : names) {
    const protocol::Tensor* t = set.Find(name);
    EXPECT_NE(t, nullptr) << name;
    if (t == nullptr) continue;
    const std::vector<double> values = protocol::ToDoubles(*t);
    for (size_t i = 0; i < 2 && i < values.size(); ++i) pins.push_back(values[i]);
  }
  double sum = 0.0, squares = 0.0;
  for (const protocol::Tensor& t : set.tensors()) {
    if (!protocol::IsFloating(t.dtype)) continue;
    for (double v : protocol::ToDoubles(t)) {
      sum += v;
      squares += v * v;
    }
  }
  pins.push_back(sum);
  pins.push_back(squares);
  return pins;
}

// Each actual value within rel_tol * (1 + |expected|) of the recorded one; on failure prints
// the actual values in the form to paste into the test.
inline void ExpectPins(const std::vector<double>& actual, const std::vector<double>& expected,
                       double rel_tol = 1e-5) {
  bool same = actual.size() == expected.size();
  for (size_t i = 0; same && i < actual.size(); ++i) {
    same = std::abs(actual[i] - expected[i]) <= rel_tol * (1.0 + std::abs(expected[i]));
  }
  if (same) return;
  std::string printed;
  for (double v : actual) {
    char buffer[40];
    std::snprintf(buffer, sizeof(buffer), "%.9g, ", v);
    printed += buffer;
  }
  ADD_FAILURE() << "pinned values changed; actual: {" << printed << "}";
}

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_WEIGHT_PINS_TEST_UTIL_H_
