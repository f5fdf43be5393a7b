#include "privacy/secagg/key_agreement.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace scancov::privacy::secagg {
namespace {

Bytes32 FromHex(const char* hex) {
  const std::string raw = absl::HexStringToBytes(hex);
  Bytes32 out{};
  std::copy(raw.begin(), raw.end(), out.begin());
  return out;
}

TEST(KeyAgreementTest, Rfc7748PublicKeys) {
  auto alice = X25519KeyPair::FromPrivateKey(
      FromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->public_key(),
            FromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
  auto bob = X25519KeyPair::FromPrivateKey(
      FromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->public_key(),
            FromHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
}

TEST(KeyAgreementTest, BothEndsDeriveTheSameKeyBoundToItsInfo) {
  DeterministicRandom random(1);
  auto a = X25519KeyPair::Generate(random);
  auto b = X25519KeyPair::Generate(random);
  auto c = X25519KeyPair::Generate(random);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  const std::string info = KdfInfo(KeyPurpose::kPairwiseMask, "study", 4, "site-a", "site-b");
  EXPECT_EQ(info, KdfInfo(KeyPurpose::kPairwiseMask, "study", 4, "site-b", "site-a"));
  auto ab = AgreeAndDerive(a->private_key(), b->public_key(), info);
  auto ba = AgreeAndDerive(b->private_key(), a->public_key(), info);
  auto ac = AgreeAndDerive(a->private_key(), c->public_key(), info);
  ASSERT_TRUE(ab.ok() && ba.ok() && ac.ok());
  EXPECT_EQ(*ab, *ba);
  EXPECT_NE(*ab, *ac);
  for (const std::string& other :
       {KdfInfo(KeyPurpose::kShareEncryption, "study", 4, "site-a", "site-b"),
        KdfInfo(KeyPurpose::kPairwiseMask, "study", 5, "site-a", "site-b"),
        KdfInfo(KeyPurpose::kPairwiseMask, "study2", 4, "site-a", "site-b"),
        KdfInfo(KeyPurpose::kPairwiseMask, "study", 4, "site-a", "site-c")}) {
    auto key = AgreeAndDerive(a->private_key(), b->public_key(), other);
    ASSERT_TRUE(key.ok());
    EXPECT_NE(*key, *ab);
  }
}

TEST(KeyAgreementTest, InfoFieldsCannotBeShiftedIntoEachOther) {
  EXPECT_NE(KdfInfo(KeyPurpose::kPairwiseMask, "ab", 1, "c", "d"),
            KdfInfo(KeyPurpose::kPairwiseMask, "a", 1, "bc", "d"));
}

TEST(KeyAgreementTest, SmallOrderPeerKeyIsRefused) {
  DeterministicRandom random(2);
  auto a = X25519KeyPair::Generate(random);
  ASSERT_TRUE(a.ok());
  auto key = AgreeAndDerive(a->private_key(), Bytes32{}, "info");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyAgreementTest, DeterministicRandomGivesReproducibleKeys) {
  DeterministicRandom r1(9), r2(9), r3(10);
  auto k1 = X25519KeyPair::Generate(r1);
  auto k2 = X25519KeyPair::Generate(r2);
  auto k3 = X25519KeyPair::Generate(r3);
  EXPECT_EQ(k1->public_key(), k2->public_key());
  EXPECT_NE(k1->public_key(), k3->public_key());
}

}  // namespace
}  // namespace scancov::privacy::secagg
