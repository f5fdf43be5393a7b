#include "sites/pki/certificate_authority.h"

#include <openssl/x509v3.h>

#include <set>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/pki/cert_builder.h"
#include "sites/pki/openssl_util.h"
#include "sites/pki/verify.h"

namespace scancov::sites {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr int64_t kDay = 24 * 60 * 60;

CertificateAndKey MakeCa(const std::string& consortium = "Test Consortium",
                         int64_t not_before_offset_s = 0, int valid_days = 3650) {
  CaOptions options;
  options.consortium = consortium;
  options.not_before_offset_s = not_before_offset_s;
  options.valid_days = valid_days;
  absl::StatusOr<CertificateAndKey> ca = CreateCertificateAuthority(options);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : CertificateAndKey{};
}

IssueOptions Options(Role role, const std::string& id) {
  IssueOptions options;
  options.role = role;
  options.id = id;
  return options;
}

CertificateAndKey Issue(const CertificateAndKey& ca, const IssueOptions& options) {
  absl::StatusOr<CertificateAndKey> issued = IssueCertificate(ca, options);
  EXPECT_TRUE(issued.ok()) << issued.status();
  return issued.ok() ? *issued : CertificateAndKey{};
}

class CertificateAuthorityTest : public ::testing::Test {
 protected:
  const CertificateAndKey ca_ = MakeCa();
};

TEST_F(CertificateAuthorityTest, CaCertificateDescribesItself) {
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(ca_.certificate_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->subject, "CN=Test Consortium CA,O=Test Consortium");
  EXPECT_EQ(info->issuer, info->subject);
  EXPECT_FALSE(info->identity.ok());
  EXPECT_THAT(info->sha256_fingerprint, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(info->not_after - info->not_before, absl::Hours(24 * 3650));
  EXPECT_THAT(ca_.private_key_pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
}

TEST_F(CertificateAuthorityTest, IssueAndVerifyRoundTripForEveryRole) {
  for (const PeerIdentity& want :
       {PeerIdentity{Role::kSite, "kb"}, PeerIdentity{Role::kCoordinator, "alice"},
        PeerIdentity{Role::kAggregator, "aggregator"}}) {
    const CertificateAndKey issued = Issue(ca_, Options(want.role, want.id));
    absl::StatusOr<PeerIdentity> got =
        VerifyCertificate(issued.certificate_pem, ca_.certificate_pem, absl::Now());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);

    absl::StatusOr<CertificateInfo> info = DescribeCertificate(issued.certificate_pem);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_FALSE(info->is_ca);
    EXPECT_EQ(info->subject,
              "CN=" + want.id + ",OU=" + std::string(RoleName(want.role)) + ",O=Test Consortium");
    EXPECT_EQ(info->issuer, "CN=Test Consortium CA,O=Test Consortium");
    ASSERT_TRUE(info->identity.ok());
    EXPECT_EQ(*info->identity, want);
    EXPECT_EQ(info->not_after - info->not_before, absl::Hours(24 * 365));
    EXPECT_LE(absl::AbsDuration(info->not_before - absl::Now()), absl::Minutes(1));
  }
}

TEST_F(CertificateAuthorityTest, AggregatorCertificateCarriesHosts) {
  IssueOptions options = Options(Role::kAggregator, "aggregator");
  options.hosts = {"Agg.Example.org", "10.0.0.7", "::1", "localhost"};
  const CertificateAndKey issued = Issue(ca_, options);
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(issued.certificate_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->hosts,
              ElementsAre("localhost", "agg.example.org", "127.0.0.1", "10.0.0.7", "::1"));
}

TEST_F(CertificateAuthorityTest, ClientCertificatesCarryNoHosts) {
  absl::StatusOr<CertificateInfo> info =
      DescribeCertificate(Issue(ca_, Options(Role::kSite, "kb")).certificate_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->hosts.empty());

  IssueOptions options = Options(Role::kSite, "kb");
  options.hosts = {"kb.example.org"};
  EXPECT_EQ(IssueCertificate(ca_, options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateAuthorityTest, RefusesHostsThatAreNotHosts) {
  for (const char* bad : {"a,DNS:evil.example", "*.example.org", "", "exa mple", "-a.org", "a..org",
                          "URI:urn:scancov:site:x"}) {
    IssueOptions options = Options(Role::kAggregator, "aggregator");
    options.hosts = {bad};
    EXPECT_EQ(IssueCertificate(ca_, options).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(CertificateAuthorityTest, SerialNumbersAndKeysAreFresh) {
  std::set<std::string> serials;
  std::set<std::string> keys;
  for (int i = 0; i < 8; ++i) {
    const CertificateAndKey issued = Issue(ca_, Options(Role::kSite, "kb"));
    absl::StatusOr<CertificateInfo> info = DescribeCertificate(issued.certificate_pem);
    ASSERT_TRUE(info.ok());
    serials.insert(info->serial_hex);
    keys.insert(issued.private_key_pem);
    // 128 random bits: at most 32 hex digits; fewer than 24 would be a 2^-32 accident.
    EXPECT_LE(info->serial_hex.size(), 32u);
    EXPECT_GE(info->serial_hex.size(), 24u);
  }
  EXPECT_EQ(serials.size(), 8u);
  EXPECT_EQ(keys.size(), 8u);
}

TEST_F(CertificateAuthorityTest, IssueValidatesOptions) {
  EXPECT_EQ(IssueCertificate(ca_, Options(Role::kSite, "KB")).status().code(),
            absl::StatusCode::kInvalidArgument);
  IssueOptions zero_days = Options(Role::kSite, "kb");
  zero_days.valid_days = 0;
  EXPECT_EQ(IssueCertificate(ca_, zero_days).status().code(), absl::StatusCode::kInvalidArgument);
  IssueOptions outlives_ca = Options(Role::kSite, "kb");
  outlives_ca.valid_days = 3651;
  absl::StatusOr<CertificateAndKey> issued = IssueCertificate(ca_, outlives_ca);
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(issued.status().message(), HasSubstr("outlive the CA"));
}

TEST_F(CertificateAuthorityTest, IssueRefusesMismatchedOrUnusableCa) {
  const CertificateAndKey other = MakeCa("Other");
  const CertificateAndKey mixed{ca_.certificate_pem, other.private_key_pem};
  absl::StatusOr<CertificateAndKey> issued = IssueCertificate(mixed, Options(Role::kSite, "kb"));
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(issued.status().message(), HasSubstr("does not match"));

  const CertificateAndKey leaf = Issue(ca_, Options(Role::kSite, "kb"));
  EXPECT_EQ(IssueCertificate(leaf, Options(Role::kSite, "ub")).status().code(),
            absl::StatusCode::kFailedPrecondition);

  const CertificateAndKey expired = MakeCa("Old", -20 * kDay, 10);
  issued = IssueCertificate(expired, Options(Role::kSite, "kb"));
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(issued.status().message(), HasSubstr("expired"));

  EXPECT_EQ(IssueCertificate(CertificateAndKey{}, Options(Role::kSite, "kb")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CreateCertificateAuthorityTest, ValidatesOptions) {
  CaOptions options;
  EXPECT_EQ(CreateCertificateAuthority(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.consortium = std::string(61, 'x');
  EXPECT_EQ(CreateCertificateAuthority(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.consortium = "bad\nname";
  EXPECT_EQ(CreateCertificateAuthority(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.consortium = "Ok";
  options.valid_days = 0;
  EXPECT_EQ(CreateCertificateAuthority(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateAuthorityTest, VerifyRefusesCertificateFromAnotherCa) {
  // Same consortium name, so the issuer names match and only the key tells them apart.
  for (const char* consortium : {"Test Consortium", "Elsewhere"}) {
    const CertificateAndKey other_ca = MakeCa(consortium);
    const CertificateAndKey stranger = Issue(other_ca, Options(Role::kSite, "kb"));
    absl::StatusOr<PeerIdentity> got =
        VerifyCertificate(stranger.certificate_pem, ca_.certificate_pem, absl::Now());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(got.status().message(), HasSubstr("not issued by this CA")) << got.status();
    EXPECT_THAT(got.status().message(), HasSubstr("certificate CN=kb,OU=site"));
  }
}

TEST_F(CertificateAuthorityTest, VerifyRefusesExpiredCertificate) {
  IssueOptions options = Options(Role::kSite, "kb");
  options.not_before_offset_s = -10 * kDay;
  options.valid_days = 1;
  const CertificateAndKey expired = Issue(ca_, options);
  absl::StatusOr<PeerIdentity> got =
      VerifyCertificate(expired.certificate_pem, ca_.certificate_pem, absl::Now());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr(": expired at "));
}

TEST_F(CertificateAuthorityTest, VerifyRefusesNotYetValidCertificate) {
  IssueOptions options = Options(Role::kCoordinator, "alice");
  options.not_before_offset_s = kDay;
  const CertificateAndKey future = Issue(ca_, options);
  absl::StatusOr<PeerIdentity> got =
      VerifyCertificate(future.certificate_pem, ca_.certificate_pem, absl::Now());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr(": not yet valid"));
}

TEST_F(CertificateAuthorityTest, VerifyUsesTheGivenTime) {
  const CertificateAndKey issued = Issue(ca_, Options(Role::kSite, "kb"));
  const absl::Time now = absl::Now();
  EXPECT_TRUE(
      VerifyCertificate(issued.certificate_pem, ca_.certificate_pem, now + absl::Hours(24 * 364))
          .ok());
  EXPECT_THAT(
      VerifyCertificate(issued.certificate_pem, ca_.certificate_pem, now + absl::Hours(24 * 366))
          .status()
          .message(),
      HasSubstr("expired"));
  EXPECT_THAT(VerifyCertificate(issued.certificate_pem, ca_.certificate_pem, now - absl::Hours(1))
                  .status()
                  .message(),
              HasSubstr("not yet valid"));
}

TEST_F(CertificateAuthorityTest, VerifyRefusesExpiredCa) {
  const CertificateAndKey short_ca = MakeCa("Short", 0, 30);
  IssueOptions options = Options(Role::kSite, "kb");
  options.valid_days = 30;
  const CertificateAndKey issued = Issue(short_ca, options);
  // The leaf expires with the CA; one second past both, the chain reports the leaf first.
  absl::StatusOr<PeerIdentity> got = VerifyCertificate(
      issued.certificate_pem, short_ca.certificate_pem, absl::Now() + absl::Hours(24 * 31));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr("expired"));
}

TEST_F(CertificateAuthorityTest, VerifyRefusesTheCaItselfAsPeer) {
  absl::StatusOr<PeerIdentity> got =
      VerifyCertificate(ca_.certificate_pem, ca_.certificate_pem, absl::Now());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr("is a CA certificate"));
}

TEST_F(CertificateAuthorityTest, VerifyRefusesRoleWithWrongKeyUsage) {
  // An "aggregator" certificate with clientAuth only, as a careless CA might sign it.
  absl::StatusOr<internal::X509Ptr> ca_cert =
      internal::ParseCertificatePem(ca_.certificate_pem, "ca");
  absl::StatusOr<internal::EvpPkeyPtr> ca_key =
      internal::ParsePrivateKeyPem(ca_.private_key_pem, "ca key");
  absl::StatusOr<internal::EvpPkeyPtr> key = internal::GenerateEcP256Key();
  absl::StatusOr<internal::X509NamePtr> subject = internal::BuildName(
      {{NID_organizationalUnitName, "aggregator"}, {NID_commonName, "aggregator"}});
  ASSERT_TRUE(ca_cert.ok() && ca_key.ok() && key.ok() && subject.ok());
  absl::StatusOr<internal::X509Ptr> cert = internal::NewCertificate(
      subject->get(), X509_get_subject_name(ca_cert->get()), 0, 30, key->get());
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(
      internal::AddExtension(cert->get(), ca_cert->get(), NID_ext_key_usage, "clientAuth").ok());
  ASSERT_TRUE(internal::AddExtension(cert->get(), ca_cert->get(), NID_authority_key_identifier,
                                     "keyid:always")
                  .ok());
  ASSERT_TRUE(internal::SignCertificate(cert->get(), ca_key->get()).ok());
  absl::StatusOr<std::string> pem = internal::CertificateToPem(cert->get());
  ASSERT_TRUE(pem.ok());

  absl::StatusOr<PeerIdentity> got = VerifyCertificate(*pem, ca_.certificate_pem, absl::Now());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr("wrong key usage")) << got.status();
}

TEST_F(CertificateAuthorityTest, VerifyRefusesGarbage) {
  EXPECT_EQ(VerifyCertificate("junk", ca_.certificate_pem, absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
  const CertificateAndKey issued = Issue(ca_, Options(Role::kSite, "kb"));
  EXPECT_EQ(VerifyCertificate(issued.certificate_pem, "junk", absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::sites
