#include "protocol/finite_scanner.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "protocol/weights_codec.h"

namespace scancov::protocol {
namespace {

// Every floating dtype, an integer tensor between them, and values set by the test.
TensorSet MakeSet(double f16, double bf16, double f32, double f64) {
  TensorSet set;
  EXPECT_TRUE(set.Add(FromDoubles("a.half", {3}, DType::kFloat16, {1, f16, 2})).ok());
  EXPECT_TRUE(set.Add(FromDoubles("b.count", {2}, DType::kInt64, {7, 8})).ok());
  EXPECT_TRUE(set.Add(FromDoubles("c.brain", {3}, DType::kBFloat16, {1, 2, bf16})).ok());
  EXPECT_TRUE(set.Add(FromDoubles("d.single", {3}, DType::kFloat32, {f32, 1, 2})).ok());
  EXPECT_TRUE(set.Add(FromDoubles("e.double", {2}, DType::kFloat64, {1, f64})).ok());
  return set;
}

// Feeds the payload in pieces of `piece` bytes, so elements straddle the cuts.
absl::Status Scan(const TensorSet& set, size_t piece) {
  std::string payload;
  const v1::WeightsManifest manifest = ManifestFor(set, &payload);
  FiniteScanner scanner(manifest);
  for (size_t at = 0; at < payload.size(); at += piece) {
    scanner.Feed(absl::string_view(payload).substr(at, piece));
  }
  EXPECT_EQ(scanner.position(), payload.size());
  return scanner.status();
}

TEST(FiniteScannerTest, AgreesWithCheckAllFiniteWhateverTheCuts) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    TensorSet set;
    std::string bad;  // empty: all finite
  };
  const std::vector<Case> cases = {
      {MakeSet(0.5, 0.5, 0.5, 0.5), ""},
      {MakeSet(nan, 0.5, 0.5, 0.5), "a.half"},
      {MakeSet(0.5, -inf, 0.5, 0.5), "c.brain"},
      {MakeSet(0.5, 0.5, inf, 0.5), "d.single"},
      {MakeSet(0.5, 0.5, 0.5, nan), "e.double"},
      {MakeSet(0.5, 0.5, 1e30, 1e300), ""},  // large but finite (1e30 fits a float)
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CheckAllFinite(c.set).ok(), c.bad.empty());
    for (size_t piece : {1, 2, 3, 5, 7, 64}) {
      absl::Status s = Scan(c.set, piece);
      if (c.bad.empty()) {
        EXPECT_TRUE(s.ok()) << piece << " " << s;
      } else {
        EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << piece;
        EXPECT_NE(s.message().find("'" + c.bad + "'"), std::string::npos) << piece << " " << s;
      }
    }
  }
}

TEST(FiniteScannerTest, IntegerBitsThatLookLikeNaNAreNotJudged) {
  TensorSet set;
  Tensor t;
  t.name = "bytes";
  t.shape = {4};
  t.dtype = DType::kUInt8;
  t.bytes = std::string(4, '\xff');  // 0xffffffff would be a NaN as a float32
  ASSERT_TRUE(set.Add(t).ok());
  EXPECT_TRUE(Scan(set, 3).ok());
}

}  // namespace
}  // namespace scancov::protocol
