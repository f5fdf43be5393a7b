// Independent check: the system `openssl` binary must accept what scancov_pki writes, the way
// gRPC (which uses the same library underneath) will. Skipped where /usr/bin/openssl is absent.
#include <unistd.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/certificate_request.h"
#include "sites/pki/pki_directory.h"
#include "sites/pki/pki_test_util.h"
#include "sites/pki/revocation.h"

namespace scancov::sites {
namespace {

using ::scancov::sites::testing::CommandResult;
using ::scancov::sites::testing::RunCommand;
using ::scancov::sites::testing::ScopedTempDir;
using ::scancov::sites::testing::ShellQuote;
using ::testing::HasSubstr;

constexpr char kOpenssl[] = "/usr/bin/openssl";

class OpensslInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kOpenssl, X_OK) != 0) GTEST_SKIP() << kOpenssl << " not available";
    CaOptions ca;
    ca.consortium = "Interop Consortium";
    ASSERT_TRUE(pki_.CreateCa(ca, Overwrite::kRefuse).ok());
    IssueOptions site;
    site.role = Role::kSite;
    site.id = "kb";
    ASSERT_TRUE(pki_.Issue(site, Overwrite::kRefuse).ok());
    IssueOptions aggregator;
    aggregator.role = Role::kAggregator;
    aggregator.id = "aggregator";
    aggregator.hosts = {"agg.example.org"};
    ASSERT_TRUE(pki_.Issue(aggregator, Overwrite::kRefuse).ok());
  }

  CommandResult Openssl(const std::string& args) {
    return RunCommand(absl::StrCat(kOpenssl, " ", args));
  }
  std::string Q(const std::string& path) { return ShellQuote(path); }

  ScopedTempDir tmp_;
  PkiDirectory pki_{tmp_.path() + "/pki"};
  const PeerIdentity kb_{Role::kSite, "kb"};
  const PeerIdentity aggregator_{Role::kAggregator, "aggregator"};
};

TEST_F(OpensslInteropTest, VerifiesClientCertificateForClientAuth) {
  const CommandResult r =
      Openssl(absl::StrCat("verify -x509_strict -purpose sslclient -CAfile ",
                           Q(pki_.CaCertificatePath()), " ", Q(pki_.CertificatePath(kb_))));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(": OK"));
  // ...but not as a server.
  const CommandResult server =
      Openssl(absl::StrCat("verify -purpose sslserver -CAfile ", Q(pki_.CaCertificatePath()), " ",
                           Q(pki_.CertificatePath(kb_))));
  EXPECT_NE(server.exit_code, 0) << server.output;
}

TEST_F(OpensslInteropTest, VerifiesServerCertificateForItsHosts) {
  const std::string base =
      absl::StrCat("verify -x509_strict -purpose sslserver -CAfile ", Q(pki_.CaCertificatePath()));
  const std::string cert = Q(pki_.CertificatePath(aggregator_));
  for (const char* check :
       {"-verify_hostname localhost", "-verify_hostname agg.example.org", "-verify_ip 127.0.0.1"}) {
    const CommandResult r = Openssl(absl::StrCat(base, " ", check, " ", cert));
    EXPECT_EQ(r.exit_code, 0) << check << "\n" << r.output;
  }
  const CommandResult wrong_host =
      Openssl(absl::StrCat(base, " -verify_hostname evil.example.org ", cert));
  EXPECT_NE(wrong_host.exit_code, 0) << wrong_host.output;
}

TEST_F(OpensslInteropTest, RejectsCertificateFromAnotherCa) {
  PkiDirectory other(tmp_.path() + "/other");
  CaOptions ca;
  ca.consortium = "Interop Consortium";  // same name, different key
  ASSERT_TRUE(other.CreateCa(ca, Overwrite::kRefuse).ok());
  const CommandResult r = Openssl(absl::StrCat("verify -CAfile ", Q(other.CaCertificatePath()), " ",
                                               Q(pki_.CertificatePath(kb_))));
  EXPECT_NE(r.exit_code, 0) << r.output;
}

TEST_F(OpensslInteropTest, CaCertificateHasCriticalCaConstraints) {
  const CommandResult r =
      Openssl(absl::StrCat("x509 -noout -text -in ", Q(pki_.CaCertificatePath())));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("X509v3 Basic Constraints: critical"));
  EXPECT_THAT(r.output, HasSubstr("CA:TRUE"));
  EXPECT_THAT(r.output, HasSubstr("X509v3 Key Usage: critical"));
  EXPECT_THAT(r.output, HasSubstr("Certificate Sign"));
  EXPECT_THAT(r.output, HasSubstr("ASN1 OID: prime256v1"));
  EXPECT_THAT(r.output, HasSubstr("ecdsa-with-SHA256"));
}

TEST_F(OpensslInteropTest, SiteCertificateShowsIdentity) {
  const CommandResult r = Openssl(
      absl::StrCat("x509 -noout -text -nameopt RFC2253 -in ", Q(pki_.CertificatePath(kb_))));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Subject: CN=kb,OU=site,O=Interop Consortium"));
  EXPECT_THAT(r.output, HasSubstr("URI:urn:scancov:site:kb"));
  EXPECT_THAT(r.output, HasSubstr("TLS Web Client Authentication"));
  EXPECT_THAT(r.output, HasSubstr("CA:FALSE"));
}

TEST_F(OpensslInteropTest, KeyMatchesCertificate) {
  const CommandResult from_key = Openssl(absl::StrCat("pkey -pubout -in ", Q(pki_.KeyPath(kb_))));
  const CommandResult from_cert =
      Openssl(absl::StrCat("x509 -noout -pubkey -in ", Q(pki_.CertificatePath(kb_))));
  ASSERT_EQ(from_key.exit_code, 0) << from_key.output;
  ASSERT_EQ(from_cert.exit_code, 0) << from_cert.output;
  EXPECT_EQ(from_key.output, from_cert.output);
}

TEST_F(OpensslInteropTest, FingerprintAndSerialMatchDescribe) {
  absl::StatusOr<std::string> pem = ReadFileToString(pki_.CertificatePath(kb_));
  ASSERT_TRUE(pem.ok());
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(*pem);
  ASSERT_TRUE(info.ok());
  const CommandResult r = Openssl(
      absl::StrCat("x509 -noout -fingerprint -sha256 -serial -in ", Q(pki_.CertificatePath(kb_))));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string normalized = absl::AsciiStrToLower(absl::StrReplaceAll(r.output, {{":", ""}}));
  EXPECT_THAT(normalized, HasSubstr(info->sha256_fingerprint));
  EXPECT_THAT(r.output, HasSubstr("serial=" + info->serial_hex));
}

TEST_F(OpensslInteropTest, RequestMadeByOpensslIsSignedAndOursIsReadByOpenssl) {
  // A participant may make its key and request with the openssl CLI instead of scancov-pki.
  const std::string key = tmp_.path() + "/igr.key";
  const std::string csr = tmp_.path() + "/igr.csr";
  CommandResult r = Openssl(absl::StrCat(
      "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /OU=site/CN=igr -keyout ",
      Q(key), " -out ", Q(csr)));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  absl::StatusOr<std::string> csr_pem = ReadFileToString(csr);
  ASSERT_TRUE(csr_pem.ok());
  SignOptions sign;
  sign.role = Role::kSite;
  sign.id = "igr";
  ASSERT_TRUE(pki_.Sign(*csr_pem, sign, Overwrite::kRefuse).ok());
  const PeerIdentity igr{Role::kSite, "igr"};
  r = Openssl(absl::StrCat("verify -x509_strict -purpose sslclient -CAfile ",
                           Q(pki_.CaCertificatePath()), " ", Q(pki_.CertificatePath(igr))));
  EXPECT_EQ(r.exit_code, 0) << r.output;

  RequestOptions request;
  request.role = Role::kAggregator;
  request.id = "aggregator";
  request.hosts = {"agg.example.org"};
  ASSERT_TRUE(WriteKeyAndRequest(request, tmp_.path() + "/agg.key", tmp_.path() + "/agg.csr",
                                 Overwrite::kRefuse)
                  .ok());
  r = Openssl(absl::StrCat("req -verify -noout -text -in ", Q(tmp_.path() + "/agg.csr")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("verify OK"));
  EXPECT_THAT(r.output, HasSubstr("URI:urn:scancov:aggregator:aggregator"));
  EXPECT_THAT(r.output, HasSubstr("DNS:agg.example.org"));
}

TEST_F(OpensslInteropTest, CrlVerifiesAndRevokesForOpenssl) {
  absl::StatusOr<std::string> pem = ReadFileToString(pki_.CertificatePath(kb_));
  ASSERT_TRUE(pem.ok());
  ASSERT_TRUE(pki_.Revoke(*pem, RevocationReason::kKeyCompromise, absl::Now()).ok());
  ASSERT_TRUE(pki_.WriteCrl(CrlOptions()).ok());
  CommandResult r = Openssl(absl::StrCat("crl -noout -text -CAfile ", Q(pki_.CaCertificatePath()),
                                         " -in ", Q(pki_.CrlPath())));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("verify OK"));
  EXPECT_THAT(r.output, HasSubstr("Key Compromise"));
  // openssl's own chain check with CRLs refuses kb and accepts the aggregator.
  const std::string chain = absl::StrCat("verify -crl_check -CAfile ", Q(pki_.CaCertificatePath()),
                                         " -CRLfile ", Q(pki_.CrlPath()), " ");
  r = Openssl(chain + Q(pki_.CertificatePath(kb_)));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("certificate revoked"));
  r = Openssl(chain + Q(pki_.CertificatePath(aggregator_)));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace scancov::sites
