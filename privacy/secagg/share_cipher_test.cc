#include "privacy/secagg/share_cipher.h"

#include "gtest/gtest.h"

namespace scancov::privacy::secagg {
namespace {

class ShareCipherTest : public ::testing::Test {
 protected:
  ShareCipherTest() { key_.fill(0x5a); }
  DeterministicRandom random_{8};
  Bytes32 key_;
  ShareAad aad_{"study-7", 3, "site-a", "site-b"};
};

TEST_F(ShareCipherTest, RoundTrips) {
  auto sealed = SealShare(key_, aad_, "the shares", random_);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->size(), 10 + kShareCipherOverhead);
  EXPECT_EQ(sealed->find("the shares"), std::string::npos);
  auto opened = OpenShare(key_, aad_, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "the shares");
}

TEST_F(ShareCipherTest, AnotherStudyRoundSenderOrRecipientFailsAuthentication) {
  auto sealed = SealShare(key_, aad_, "the shares", random_);
  ASSERT_TRUE(sealed.ok());
  const ShareAad others[] = {{"study-8", 3, "site-a", "site-b"},
                             {"study-7", 4, "site-a", "site-b"},
                             {"study-7", 3, "site-c", "site-b"},
                             {"study-7", 3, "site-a", "site-c"}};
  for (const ShareAad& other : others) {
    auto opened = OpenShare(key_, other, *sealed);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied);
  }
  Bytes32 wrong = key_;
  wrong[0] ^= 1;
  EXPECT_EQ(OpenShare(wrong, aad_, *sealed).status().code(), absl::StatusCode::kPermissionDenied);
  std::string flipped = *sealed;
  flipped[14] ^= 0x01;
  EXPECT_EQ(OpenShare(key_, aad_, flipped).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(OpenShare(key_, aad_, sealed->substr(0, 20)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ShareCipherTest, NoncesAreFresh) {
  auto a = SealShare(key_, aad_, "same", random_);
  auto b = SealShare(key_, aad_, "same", random_);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace scancov::privacy::secagg
