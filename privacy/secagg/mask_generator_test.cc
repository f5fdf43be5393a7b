#include "privacy/secagg/mask_generator.h"

#include "gtest/gtest.h"

namespace scancov::privacy::secagg {
namespace {

TEST(MaskGeneratorTest, IsTheChaCha20Keystream) {
  // RFC 8439 A.1 test vector #1: key 0, nonce 0, counter 0; keystream 76 b8 e0 ad a0 f1 3d 90...
  auto mask = ExpandMask(Bytes32{}, 2);
  ASSERT_TRUE(mask.ok()) << mask.status();
  EXPECT_EQ((*mask)[0], 0x903df1a0ade0b876ull);
  EXPECT_EQ((*mask)[1], 0x28bd8653e56a5d40ull);
}

TEST(MaskGeneratorTest, BlocksJoinIntoOneStream) {
  Bytes32 seed{};
  seed[0] = 7;
  auto longer = ExpandMask(seed, 5000);
  auto shorter = ExpandMask(seed, 2051);
  ASSERT_TRUE(longer.ok() && shorter.ok());
  EXPECT_TRUE(std::equal(shorter->begin(), shorter->end(), longer->begin()));
  Bytes32 other = seed;
  other[31] = 1;
  auto different = ExpandMask(other, 4);
  EXPECT_NE((*different)[0], (*longer)[0]);
}

TEST(MaskGeneratorTest, AddThenSubtractIsTheIdentity) {
  Bytes32 seed{};
  seed[5] = 42;
  std::vector<uint64_t> v(3000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = i * 0x9e3779b97f4a7c15ull;
  const std::vector<uint64_t> original = v;
  ASSERT_TRUE(ApplyMask(seed, MaskSign::kAdd, absl::MakeSpan(v)).ok());
  EXPECT_NE(v, original);
  ASSERT_TRUE(ApplyMask(seed, MaskSign::kSubtract, absl::MakeSpan(v)).ok());
  EXPECT_EQ(v, original);
}

}  // namespace
}  // namespace scancov::privacy::secagg
