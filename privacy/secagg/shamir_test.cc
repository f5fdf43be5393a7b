#include "privacy/secagg/shamir.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::privacy::secagg {
namespace {

using ::testing::HasSubstr;

Bytes32 Secret() {
  Bytes32 s;
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(17 * i + 3);
  return s;
}

TEST(ShamirTest, AnyThresholdSubsetReconstructs) {
  DeterministicRandom random(3);
  const std::vector<uint8_t> indices = {1, 2, 3, 7, 255};
  auto shares = ShamirSplit(Secret(), 3, indices, random);
  ASSERT_TRUE(shares.ok()) << shares.status();
  int subsets = 0;
  for (int a = 0; a < 5; ++a) {
    for (int b = a + 1; b < 5; ++b) {
      for (int c = b + 1; c < 5; ++c) {
        // Order must not matter either.
        std::vector<ShamirShare> subset = {(*shares)[c], (*shares)[a], (*shares)[b]};
        auto secret = ShamirReconstruct(subset, 3);
        ASSERT_TRUE(secret.ok()) << secret.status();
        EXPECT_EQ(*secret, Secret());
        ++subsets;
      }
    }
  }
  EXPECT_EQ(subsets, 10);
  auto all = ShamirReconstruct(*shares, 3);
  EXPECT_EQ(*all, Secret());
}

TEST(ShamirTest, TooFewDuplicateOrZeroIndicesAreRefused) {
  DeterministicRandom random(4);
  auto shares = ShamirSplit(Secret(), 3, std::vector<uint8_t>{1, 2, 3, 4}, random);
  ASSERT_TRUE(shares.ok());
  auto two = ShamirReconstruct(absl::MakeConstSpan(*shares).subspan(0, 2), 3);
  EXPECT_EQ(two.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(two.status().message(), HasSubstr("2 shares, 3 needed"));
  std::vector<ShamirShare> dup = {(*shares)[0], (*shares)[1], (*shares)[1]};
  auto d = ShamirReconstruct(dup, 3);
  EXPECT_THAT(d.status().message(), HasSubstr("share index 2 appears twice"));
  std::vector<ShamirShare> zero = {(*shares)[0], (*shares)[1], ShamirShare{0, {}}};
  EXPECT_THAT(ShamirReconstruct(zero, 3).status().message(), HasSubstr("index 0 is invalid"));
  EXPECT_FALSE(ShamirSplit(Secret(), 3, std::vector<uint8_t>{1, 1, 2}, random).ok());
  EXPECT_FALSE(ShamirSplit(Secret(), 1, std::vector<uint8_t>{1, 2}, random).ok());
  EXPECT_FALSE(ShamirSplit(Secret(), 3, std::vector<uint8_t>{1, 2}, random).ok());
}

TEST(ShamirTest, FewerThanThresholdSharesAreConsistentWithEverySecret) {
  // Given t-1 = 2 shares, every value of the secret's first byte is reached by exactly one
  // value of a third share: the two shares rule out no secret.
  DeterministicRandom random(5);
  auto shares = ShamirSplit(Secret(), 3, std::vector<uint8_t>{1, 2, 3}, random);
  ASSERT_TRUE(shares.ok());
  std::set<uint8_t> secrets;
  for (int v = 0; v < 256; ++v) {
    ShamirShare third{9, {}};
    third.value.fill(static_cast<uint8_t>(v));
    std::vector<ShamirShare> guess = {(*shares)[0], (*shares)[1], third};
    auto secret = ShamirReconstruct(guess, 3);
    ASSERT_TRUE(secret.ok());
    secrets.insert((*secret)[0]);
  }
  EXPECT_EQ(secrets.size(), 256u);
}

TEST(ShamirTest, AWrongShareAmongMoreThanThresholdIsDetected) {
  DeterministicRandom random(7);
  auto shares = ShamirSplit(Secret(), 3, std::vector<uint8_t>{1, 2, 3, 4, 5}, random);
  ASSERT_TRUE(shares.ok());
  EXPECT_TRUE(ShamirCheckConsistent(*shares, 3).ok());
  EXPECT_TRUE(ShamirCheckConsistent(absl::MakeConstSpan(*shares).subspan(0, 3), 3).ok());
  for (size_t wrong = 0; wrong < shares->size(); ++wrong) {
    std::vector<ShamirShare> tampered = *shares;
    tampered[wrong].value[9] ^= 0x40;
    absl::Status s = ShamirCheckConsistent(tampered, 3);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << wrong;
    EXPECT_THAT(s.message(), HasSubstr("a wrong share"));
  }
}

TEST(ShamirTest, SharesOfTheSameSecretDifferAcrossSplits) {
  DeterministicRandom random(6);
  auto first = ShamirSplit(Secret(), 2, std::vector<uint8_t>{1, 2}, random);
  auto second = ShamirSplit(Secret(), 2, std::vector<uint8_t>{1, 2}, random);
  EXPECT_NE((*first)[0].value, (*second)[0].value);
  EXPECT_NE((*first)[0].value, Secret());
}

}  // namespace
}  // namespace scancov::privacy::secagg
