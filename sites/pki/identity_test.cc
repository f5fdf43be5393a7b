#include "sites/pki/identity.h"

#include <openssl/x509v3.h>

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/pki/cert_builder.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/openssl_util.h"

namespace scancov::sites {
namespace {

using ::testing::HasSubstr;

TEST(RoleTest, NamesRoundTrip) {
  for (Role role : {Role::kSite, Role::kCoordinator, Role::kAggregator}) {
    absl::StatusOr<Role> parsed = ParseRole(RoleName(role));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, role);
  }
  EXPECT_EQ(RoleName(Role::kSite), "site");
  EXPECT_EQ(RoleName(Role::kCoordinator), "coordinator");
  EXPECT_EQ(RoleName(Role::kAggregator), "aggregator");
}

TEST(RoleTest, ParseRoleRejectsUnknownAndWrongCase) {
  for (const char* bad : {"", "Site", "sites", "admin", "site "}) {
    absl::StatusOr<Role> parsed = ParseRole(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(IdentityTest, ToStringAndUri) {
  const PeerIdentity kb{Role::kSite, "kb"};
  EXPECT_EQ(ToString(kb), "site:kb");
  EXPECT_EQ(IdentityUri(kb), "urn:scancov:site:kb");
  EXPECT_EQ(IdentityUri({Role::kCoordinator, "alice"}), "urn:scancov:coordinator:alice");
}

TEST(ValidateIdTest, AcceptsValidIds) {
  for (const std::string& id :
       {std::string("kb"), std::string("0"), std::string("a_b-c9"), std::string(63, 'x')}) {
    EXPECT_TRUE(ValidateId(id).ok()) << id;
  }
}

TEST(ValidateIdTest, RejectsInvalidIds) {
  for (const std::string& id :
       {std::string(""), std::string("-kb"), std::string("_kb"), std::string("KB"),
        std::string("k b"), std::string("kb."), std::string("../kb"), std::string("kb/x"),
        std::string(64, 'x'), std::string("kb\n"), std::string("k\0b", 3),
        std::string("k\xc3\xa9")}) {
    EXPECT_EQ(ValidateId(id).code(), absl::StatusCode::kInvalidArgument) << id;
  }
}

// Signs a certificate with an arbitrary subject and SAN URIs, bypassing IssueCertificate's
// checks, to feed IdentityFromCertificatePem the certificates a buggy or hostile CA could make.
std::string CraftCertificate(const std::vector<std::pair<int, std::string>>& subject,
                             const std::vector<std::string>& uris) {
  absl::StatusOr<internal::EvpPkeyPtr> key = internal::GenerateEcP256Key();
  EXPECT_TRUE(key.ok());
  absl::StatusOr<internal::X509NamePtr> name = internal::BuildName(subject);
  EXPECT_TRUE(name.ok()) << name.status();
  absl::StatusOr<internal::X509Ptr> cert =
      internal::NewCertificate(name->get(), name->get(), 0, 1, key->get());
  EXPECT_TRUE(cert.ok()) << cert.status();
  std::vector<internal::AltName> alt_names;
  for (const std::string& uri : uris) alt_names.push_back({internal::AltName::Kind::kUri, uri});
  if (!alt_names.empty()) {
    EXPECT_TRUE(internal::AddSubjectAltNames(cert->get(), alt_names).ok());
  }
  EXPECT_TRUE(internal::SignCertificate(cert->get(), key->get()).ok());
  absl::StatusOr<std::string> pem = internal::CertificateToPem(cert->get());
  EXPECT_TRUE(pem.ok());
  return *pem;
}

TEST(IdentityFromCertificatePemTest, ReadsEachRoleFromIssuedCertificates) {
  CaOptions ca_options;
  ca_options.consortium = "Test Consortium";
  absl::StatusOr<CertificateAndKey> ca = CreateCertificateAuthority(ca_options);
  ASSERT_TRUE(ca.ok()) << ca.status();
  for (const PeerIdentity& want :
       {PeerIdentity{Role::kSite, "kb"}, PeerIdentity{Role::kCoordinator, "alice"},
        PeerIdentity{Role::kAggregator, "aggregator"}}) {
    IssueOptions options;
    options.role = want.role;
    options.id = want.id;
    absl::StatusOr<CertificateAndKey> issued = IssueCertificate(*ca, options);
    ASSERT_TRUE(issued.ok()) << issued.status();
    absl::StatusOr<PeerIdentity> got = IdentityFromCertificatePem(issued->certificate_pem);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
  }
}

TEST(IdentityFromCertificatePemTest, AcceptsSubjectWithoutSanUri) {
  const std::string pem =
      CraftCertificate({{NID_organizationalUnitName, "site"}, {NID_commonName, "kb"}}, {});
  absl::StatusOr<PeerIdentity> got = IdentityFromCertificatePem(pem);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (PeerIdentity{Role::kSite, "kb"}));
}

TEST(IdentityFromCertificatePemTest, RefusesCertificateWithoutOu) {
  const std::string pem =
      CraftCertificate({{NID_organizationName, "X"}, {NID_commonName, "kb"}}, {});
  absl::StatusOr<PeerIdentity> got = IdentityFromCertificatePem(pem);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr("no OU"));
}

TEST(IdentityFromCertificatePemTest, RefusesCertificateWithoutCn) {
  const std::string pem = CraftCertificate({{NID_organizationalUnitName, "site"}}, {});
  absl::StatusOr<PeerIdentity> got = IdentityFromCertificatePem(pem);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr("no CN"));
}

TEST(IdentityFromCertificatePemTest, RefusesUnknownRole) {
  const std::string pem =
      CraftCertificate({{NID_organizationalUnitName, "admin"}, {NID_commonName, "kb"}}, {});
  absl::StatusOr<PeerIdentity> got = IdentityFromCertificatePem(pem);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr("'admin' is not a role"));
}

TEST(IdentityFromCertificatePemTest, RefusesInvalidId) {
  const std::string pem =
      CraftCertificate({{NID_organizationalUnitName, "site"}, {NID_commonName, "../kb"}}, {});
  EXPECT_EQ(IdentityFromCertificatePem(pem).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(IdentityFromCertificatePemTest, RefusesAmbiguousSubject) {
  const std::string two_ous = CraftCertificate({{NID_organizationalUnitName, "site"},
                                                {NID_organizationalUnitName, "aggregator"},
                                                {NID_commonName, "kb"}},
                                               {});
  absl::StatusOr<PeerIdentity> got = IdentityFromCertificatePem(two_ous);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr("ambiguous"));
  const std::string two_cns = CraftCertificate(
      {{NID_organizationalUnitName, "site"}, {NID_commonName, "kb"}, {NID_commonName, "ub"}}, {});
  EXPECT_EQ(IdentityFromCertificatePem(two_cns).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(IdentityFromCertificatePemTest, RefusesSanUriThatContradictsSubject) {
  const std::string pem =
      CraftCertificate({{NID_organizationalUnitName, "site"}, {NID_commonName, "kb"}},
                       {"urn:scancov:site:kb", "urn:scancov:aggregator:kb"});
  absl::StatusOr<PeerIdentity> got = IdentityFromCertificatePem(pem);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(got.status().message(), HasSubstr("contradicts"));
}

TEST(IdentityFromCertificatePemTest, IgnoresForeignSanUris) {
  const std::string pem =
      CraftCertificate({{NID_organizationalUnitName, "site"}, {NID_commonName, "kb"}},
                       {"https://kb.example.org/", "urn:scancov:site:kb"});
  EXPECT_TRUE(IdentityFromCertificatePem(pem).ok());
}

TEST(IdentityFromCertificatePemTest, RefusesGarbage) {
  EXPECT_EQ(IdentityFromCertificatePem("not a certificate").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IdentityFromCertificatePem("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::sites
