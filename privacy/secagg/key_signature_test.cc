#include "privacy/secagg/key_signature.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "privacy/secagg/test_sites.h"

namespace scancov::privacy::secagg {
namespace {

using test_sites::MakeTestSite;
using test_sites::TestSite;
using ::testing::HasSubstr;

std::string Payload(uint64_t round, const std::string& site) {
  Bytes32 c{}, s{};
  c[0] = 1;
  s[0] = 2;
  return AdvertPayload("study-7", round, site, c, s);
}

TEST(KeySignatureTest, SignedKeysVerifyWithTheCertificate) {
  const TestSite a = MakeTestSite("site-a");
  auto sig = SignPayload(a.key_pem, Payload(3, "site-a"));
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(VerifyPayload(a.cert_pem, "site-a", Payload(3, "site-a"), *sig).ok());
  EXPECT_EQ(*CertificateCommonName(a.cert_pem), "site-a");
}

TEST(KeySignatureTest, AnotherSitesKeyOrAnotherPayloadIsRefused) {
  const TestSite a = MakeTestSite("site-a");
  const TestSite b = MakeTestSite("site-b");
  auto forged = SignPayload(a.key_pem, Payload(3, "site-b"));
  ASSERT_TRUE(forged.ok());
  absl::Status s = VerifyPayload(b.cert_pem, "site-b", Payload(3, "site-b"), *forged);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("not signed by its certificate's key"));
  auto sig = SignPayload(b.key_pem, Payload(3, "site-b"));
  EXPECT_EQ(VerifyPayload(b.cert_pem, "site-b", Payload(4, "site-b"), *sig).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyPayload(b.cert_pem, "site-b", Payload(3, "site-b"), "garbage").code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(KeySignatureTest, CertificateOfAnotherNameIsRefused) {
  const TestSite impostor = MakeTestSite("site-b", "site-x");
  auto sig = SignPayload(impostor.key_pem, Payload(3, "site-b"));
  ASSERT_TRUE(sig.ok());
  absl::Status s = VerifyPayload(impostor.cert_pem, "site-b", Payload(3, "site-b"), *sig);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("has CN 'site-x'"));
}

TEST(KeySignatureTest, GarbagePemIsRefused) {
  EXPECT_EQ(SignPayload("not a key", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyPayload("not a cert", "site-a", "x", "y").code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::privacy::secagg
