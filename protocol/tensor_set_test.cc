#include "protocol/tensor_set.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace scancov::protocol {
namespace {

TEST(TensorSetTest, RejectsDuplicateNamesAndWrongSizes) {
  TensorSet set;
  ASSERT_TRUE(set.Add(MakeFloat32("w", {2, 2}, {1, 2, 3, 4})).ok());
  EXPECT_EQ(set.Add(MakeFloat32("w", {1}, {1})).code(), absl::StatusCode::kInvalidArgument);
  absl::Status bad = set.Add(MakeFloat32("b", {3}, {1, 2}));
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("'b'"), std::string::npos) << bad;
  EXPECT_EQ(set.Add(MakeFloat32("", {1}, {1})).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(set.size(), 1u);
}

TEST(TensorSetTest, DoublesRoundTripEveryDtype) {
  const std::vector<double> values = {0.0, 1.0, -2.0, 3.0, 0.5, 255.0};
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16}) {
    Tensor t = FromDoubles("x", {2, 3}, d, values);
    EXPECT_EQ(ToDoubles(t), values) << DTypeName(d);
  }
  const std::vector<double> ints = {0.0, 1.0, -2.0, 3.0, -7.0, 1e12};
  Tensor i64 = FromDoubles("i", {6}, DType::kInt64, ints);
  EXPECT_EQ(ToDoubles(i64), ints);
  Tensor i32 = FromDoubles("i", {5}, DType::kInt32, {0, 1, -2, 3, 2.6});
  EXPECT_EQ(ToDoubles(i32), (std::vector<double>{0, 1, -2, 3, 3}));  // rounded to nearest
  Tensor u = FromDoubles("u", {3}, DType::kUInt8, {0, 7, 255});
  EXPECT_EQ(ToDoubles(u), (std::vector<double>{0, 7, 255}));
  Tensor b = FromDoubles("b", {2}, DType::kBool, {1, 0});
  EXPECT_EQ(ToDoubles(b), (std::vector<double>{1, 0}));
}

TEST(TensorSetTest, HalfPrecisionRounding) {
  // 1 + 2^-11 is exactly halfway between two float16 values: ties go to even (1.0).
  Tensor h = FromDoubles("h", {3}, DType::kFloat16, {1.0 + std::ldexp(1.0, -11), 65504.0, 1e-7});
  std::vector<double> back = ToDoubles(h);
  EXPECT_EQ(back[0], 1.0);
  EXPECT_EQ(back[1], 65504.0);  // float16 max
  EXPECT_NEAR(back[2], 1.1920928955078125e-07, 1e-12);  // nearest subnormal (2 * 2^-24)
}

TEST(TensorSetTest, FiniteCheckNamesTheTensor) {
  TensorSet set;
  ASSERT_TRUE(set.Add(MakeFloat32("ok", {1}, {1.0f})).ok());
  ASSERT_TRUE(set.Add(MakeFloat32("bad", {2}, {0.0f, std::nanf("")})).ok());
  absl::Status s = CheckAllFinite(set);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'bad': element 1"), std::string::npos) << s;
}

TEST(TensorSetTest, LayoutMismatchIsExplained) {
  TensorSet a, b;
  ASSERT_TRUE(a.Add(MakeFloat32("w", {2}, {1, 2})).ok());
  ASSERT_TRUE(b.Add(MakeFloat32("w", {1, 2}, {1, 2})).ok());
  absl::Status s = a.CheckSameLayout(b);
  EXPECT_NE(s.message().find("expected shape [2], got [1, 2]"), std::string::npos) << s;
}

}  // namespace
}  // namespace scancov::protocol
