#include "sites/pki/certificate_request.h"

#include <openssl/x509.h>

#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/pki/cert_builder.h"
#include "sites/pki/openssl_util.h"
#include "sites/pki/verify.h"

namespace scancov::sites {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

CertificateAndKey MakeCa() {
  CaOptions options;
  options.consortium = "Test Consortium";
  absl::StatusOr<CertificateAndKey> ca = CreateCertificateAuthority(options);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : CertificateAndKey{};
}

RequestAndKey Request(Role role, const std::string& id, std::vector<std::string> hosts = {}) {
  RequestOptions options;
  options.role = role;
  options.id = id;
  options.hosts = std::move(hosts);
  absl::StatusOr<RequestAndKey> made = CreateCertificateRequest(options);
  EXPECT_TRUE(made.ok()) << made.status();
  return made.ok() ? *made : RequestAndKey{};
}

SignOptions Asked(Role role, const std::string& id) {
  SignOptions options;
  options.role = role;
  options.id = id;
  return options;
}

// A request built by hand, as a participant that does not use scancov-pki (or an attacker)
// might: `subject` entries, `key` in the request, signed with `signer`.
std::string HandMadeRequest(const std::vector<std::pair<int, std::string>>& subject, EVP_PKEY* key,
                            EVP_PKEY* signer,
                            const std::vector<internal::AltName>& alt_names = {}) {
  internal::X509ReqPtr request(X509_REQ_new());
  absl::StatusOr<internal::X509NamePtr> name = internal::BuildName(subject);
  EXPECT_TRUE(name.ok());
  EXPECT_EQ(X509_REQ_set_subject_name(request.get(), name->get()), 1);
  EXPECT_EQ(X509_REQ_set_pubkey(request.get(), key), 1);
  if (!alt_names.empty()) {
    absl::StatusOr<internal::GeneralNamesPtr> list = internal::BuildGeneralNames(alt_names);
    EXPECT_TRUE(list.ok());
    internal::ExtensionsPtr extensions(sk_X509_EXTENSION_new_null());
    sk_X509_EXTENSION_push(extensions.get(), X509V3_EXT_i2d(NID_subject_alt_name, 0, list->get()));
    EXPECT_EQ(X509_REQ_add_extensions(request.get(), extensions.get()), 1);
  }
  EXPECT_GT(X509_REQ_sign(request.get(), signer, EVP_sha256()), 0);
  absl::StatusOr<std::string> pem = internal::RequestToPem(request.get());
  EXPECT_TRUE(pem.ok());
  return pem.ok() ? *pem : "";
}

internal::EvpPkeyPtr Key(const char* type, const char* param) {
  internal::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, type, param));
  EXPECT_NE(key, nullptr) << type;
  return key;
}

class CertificateRequestTest : public ::testing::Test {
 protected:
  const CertificateAndKey ca_ = MakeCa();
};

TEST_F(CertificateRequestTest, SignedCertificateCertifiesTheKeyMadeAtTheSite) {
  for (const PeerIdentity& who :
       {PeerIdentity{Role::kSite, "kb"}, PeerIdentity{Role::kCoordinator, "alice"},
        PeerIdentity{Role::kAggregator, "aggregator"}}) {
    const RequestAndKey made = Request(who.role, who.id);
    EXPECT_THAT(made.request_pem, HasSubstr("BEGIN CERTIFICATE REQUEST"));
    EXPECT_THAT(made.request_pem, Not(HasSubstr("PRIVATE KEY")));
    absl::StatusOr<SignedRequest> signed_request =
        SignCertificateRequest(ca_, made.request_pem, Asked(who.role, who.id));
    ASSERT_TRUE(signed_request.ok()) << signed_request.status();
    EXPECT_EQ(signed_request->key_description, "EC P-256");
    absl::StatusOr<PeerIdentity> verified =
        VerifyCertificate(signed_request->certificate_pem, ca_.certificate_pem, absl::Now());
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(*verified, who);
    // The certificate is for the site's own key.
    auto cert = internal::ParseCertificatePem(signed_request->certificate_pem, "cert");
    auto key = internal::ParsePrivateKeyPem(made.private_key_pem, "key");
    ASSERT_TRUE(cert.ok() && key.ok());
    EXPECT_EQ(X509_check_private_key(cert->get(), key->get()), 1);
    absl::StatusOr<CertificateInfo> info = DescribeCertificate(signed_request->certificate_pem);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->subject,
              "CN=" + who.id + ",OU=" + std::string(RoleName(who.role)) + ",O=Test Consortium");
  }
}

TEST_F(CertificateRequestTest, AggregatorHostsTravelFromTheRequest) {
  const RequestAndKey made =
      Request(Role::kAggregator, "aggregator", {"agg.example.org", "10.1.2.3"});
  absl::StatusOr<SignedRequest> signed_request =
      SignCertificateRequest(ca_, made.request_pem, Asked(Role::kAggregator, "aggregator"));
  ASSERT_TRUE(signed_request.ok()) << signed_request.status();
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(signed_request->certificate_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->hosts,
              UnorderedElementsAre("localhost", "agg.example.org", "127.0.0.1", "10.1.2.3"));
}

TEST_F(CertificateRequestTest, RequestForAnotherRoleOrIdIsRefused) {
  // A site asking for a coordinator certificate: its request says OU=coordinator, the CA was
  // asked to certify site kb.
  const RequestAndKey greedy = Request(Role::kCoordinator, "kb");
  absl::StatusOr<SignedRequest> r =
      SignCertificateRequest(ca_, greedy.request_pem, Asked(Role::kSite, "kb"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("OU disagrees with the role"));
  // The same request presented as the coordinator it claims: still refused when the CA was
  // asked for another id.
  r = SignCertificateRequest(ca_, greedy.request_pem, Asked(Role::kCoordinator, "alice"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("CN disagrees with the id"));
  // kb's honest request signed as igr.
  const RequestAndKey kb = Request(Role::kSite, "kb");
  r = SignCertificateRequest(ca_, kb.request_pem, Asked(Role::kSite, "igr"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("signing site:igr"));
}

TEST_F(CertificateRequestTest, SubjectMustSayNothingElse) {
  internal::EvpPkeyPtr key = Key("EC", "P-256");
  const std::string other_o = HandMadeRequest({{NID_organizationName, "Other"},
                                               {NID_organizationalUnitName, "site"},
                                               {NID_commonName, "kb"}},
                                              key.get(), key.get());
  absl::StatusOr<SignedRequest> r = SignCertificateRequest(ca_, other_o, Asked(Role::kSite, "kb"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("O is not this consortium"));

  const std::string two_ou = HandMadeRequest({{NID_organizationalUnitName, "site"},
                                              {NID_organizationalUnitName, "coordinator"},
                                              {NID_commonName, "kb"}},
                                             key.get(), key.get());
  EXPECT_EQ(SignCertificateRequest(ca_, two_ou, Asked(Role::kSite, "kb")).status().code(),
            absl::StatusCode::kPermissionDenied);

  const std::string extra = HandMadeRequest(
      {{NID_countryName, "FR"}, {NID_organizationalUnitName, "site"}, {NID_commonName, "kb"}},
      key.get(), key.get());
  r = SignCertificateRequest(ca_, extra, Asked(Role::kSite, "kb"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("carries C"));

  // The consortium's own O is accepted (openssl req users often write it).
  const std::string with_o = HandMadeRequest({{NID_organizationName, "Test Consortium"},
                                              {NID_organizationalUnitName, "site"},
                                              {NID_commonName, "kb"}},
                                             key.get(), key.get());
  EXPECT_TRUE(SignCertificateRequest(ca_, with_o, Asked(Role::kSite, "kb")).ok());
}

TEST_F(CertificateRequestTest, SanMustNameTheSameIdentityAndHostsOnlyForAggregators) {
  internal::EvpPkeyPtr key = Key("EC", "P-256");
  const std::vector<std::pair<int, std::string>> kb = {{NID_organizationalUnitName, "site"},
                                                       {NID_commonName, "kb"}};
  using Kind = internal::AltName::Kind;
  const std::string posing =
      HandMadeRequest(kb, key.get(), key.get(), {{Kind::kUri, "urn:scancov:coordinator:kb"}});
  absl::StatusOr<SignedRequest> r = SignCertificateRequest(ca_, posing, Asked(Role::kSite, "kb"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("urn:scancov:coordinator:kb"));

  const std::string site_with_host =
      HandMadeRequest(kb, key.get(), key.get(), {{Kind::kDns, "kb.example.org"}});
  r = SignCertificateRequest(ca_, site_with_host, Asked(Role::kSite, "kb"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("host names"));

  // No SAN at all is fine: the CA writes the identity URI itself.
  const std::string bare = HandMadeRequest(kb, key.get(), key.get());
  EXPECT_TRUE(SignCertificateRequest(ca_, bare, Asked(Role::kSite, "kb")).ok());
}

TEST_F(CertificateRequestTest, RequestNotSignedByItsOwnKeyIsRefused) {
  internal::EvpPkeyPtr victim = Key("EC", "P-256");
  internal::EvpPkeyPtr attacker = Key("EC", "P-256");
  const std::string forged = HandMadeRequest(
      {{NID_organizationalUnitName, "site"}, {NID_commonName, "kb"}}, victim.get(), attacker.get());
  absl::StatusOr<SignedRequest> r = SignCertificateRequest(ca_, forged, Asked(Role::kSite, "kb"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("signature does not verify"));
  EXPECT_EQ(SignCertificateRequest(ca_, "junk", Asked(Role::kSite, "kb")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateRequestTest, KeyTypeAndSizeAreChecked) {
  const std::vector<std::pair<int, std::string>> kb = {{NID_organizationalUnitName, "site"},
                                                       {NID_commonName, "kb"}};
  internal::EvpPkeyPtr p384 = Key("EC", "P-384");
  absl::StatusOr<SignedRequest> ok = SignCertificateRequest(
      ca_, HandMadeRequest(kb, p384.get(), p384.get()), Asked(Role::kSite, "kb"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->key_description, "EC P-384");

  internal::EvpPkeyPtr k256 = Key("EC", "secp256k1");
  absl::StatusOr<SignedRequest> r = SignCertificateRequest(
      ca_, HandMadeRequest(kb, k256.get(), k256.get()), Asked(Role::kSite, "kb"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("EC curve secp256k1 is not accepted"));

  internal::EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  ASSERT_NE(rsa, nullptr);
  r = SignCertificateRequest(ca_, HandMadeRequest(kb, rsa.get(), rsa.get()),
                             Asked(Role::kSite, "kb"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("RSA-2048 is too weak"));
}

TEST_F(CertificateRequestTest, RequestedCaExtensionsAreIgnored) {
  // A request asking for CA:TRUE gets a leaf certificate all the same.
  internal::EvpPkeyPtr key = Key("EC", "P-256");
  internal::X509ReqPtr request(X509_REQ_new());
  auto name = internal::BuildName({{NID_organizationalUnitName, "site"}, {NID_commonName, "kb"}});
  ASSERT_TRUE(name.ok());
  X509_REQ_set_subject_name(request.get(), name->get());
  X509_REQ_set_pubkey(request.get(), key.get());
  internal::ExtensionsPtr extensions(sk_X509_EXTENSION_new_null());
  sk_X509_EXTENSION_push(
      extensions.get(),
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE"));
  X509_REQ_add_extensions(request.get(), extensions.get());
  ASSERT_GT(X509_REQ_sign(request.get(), key.get(), EVP_sha256()), 0);
  absl::StatusOr<std::string> pem = internal::RequestToPem(request.get());
  ASSERT_TRUE(pem.ok());
  absl::StatusOr<SignedRequest> r = SignCertificateRequest(ca_, *pem, Asked(Role::kSite, "kb"));
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(r->certificate_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->is_ca);
}

TEST_F(CertificateRequestTest, BadOptionsAreRefusedBeforeAnythingIsMade) {
  RequestOptions bad;
  bad.role = Role::kSite;
  bad.id = "../kb";
  EXPECT_EQ(CreateCertificateRequest(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.id = "kb";
  bad.hosts = {"kb.example.org"};
  EXPECT_EQ(CreateCertificateRequest(bad).status().code(), absl::StatusCode::kInvalidArgument);
  const RequestAndKey made = Request(Role::kSite, "kb");
  SignOptions days = Asked(Role::kSite, "kb");
  days.valid_days = 0;
  EXPECT_EQ(SignCertificateRequest(ca_, made.request_pem, days).status().code(),
            absl::StatusCode::kInvalidArgument);
  days.valid_days = 365 * 20;  // past the CA's ten years
  EXPECT_EQ(SignCertificateRequest(ca_, made.request_pem, days).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::sites
