// `scancov-node check`: every failure the preflight detects, produced on purpose (a broken site
// file, a wrong certificate or key, a key others may read, a store that cannot be written, an
// aggregator that cannot be reached, that is not ours, or that has not enrolled the site), each
// named by its check; and the all-ok path against a real aggregator over mutual TLS. The clock line
// is in preflight_clock_test.cc.
#include "node/preflight.h"

#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file_util.h"
#include "node/preflight_test_fixture.h"

namespace scancov::node {
namespace {

using namespace preflight_testing;  // NOLINT: the fixture and its helpers

TEST_F(PreflightTest, AllOkAgainstARealAggregatorThatEnrolledTheSite) {
  StartOurAggregator({"kb"});
  const std::vector<CheckResult> results = Run();
  for (const CheckResult& r : results) {
    EXPECT_EQ(r.status, CheckStatus::kOk) << PreflightText({r});
  }
  EXPECT_THAT(Find(results, "aggregator").detail, HasSubstr("accepts site 'kb'"));
  EXPECT_THAT(Find(results, "clock").detail,
              AllOf(HasSubstr("the aggregator's"), HasSubstr(" (round trip "),
                    HasSubstr("half of it taken off")));
  EXPECT_THAT(Find(results, "compute").detail, HasSubstr("cpu"));
  EXPECT_EQ(PreflightExitCode(results), kPreflightExitOk);
  std::ostringstream out;
  EXPECT_EQ(RunCheckCommand(site_file_, options_, false, out), 0);
  EXPECT_THAT(out.str(), HasSubstr("ok    certificate-chain"));
}

TEST_F(PreflightTest, MalformedSiteFileFailsNamingTheFile) {
  ASSERT_TRUE(WriteFileAtomic(site_file_, "{\"site_id\": \"kb\",").ok());
  const std::vector<CheckResult> results = RunPreflight(site_file_, options_);
  ExpectFail(Find(results, "site-file"), site_file_);
  EXPECT_THAT(results[0].detail, HasSubstr("not valid JSON"));
  EXPECT_EQ(results.size(), 1u);  // nothing else can be checked
  EXPECT_EQ(PreflightExitCode(results), kPreflightExitFailed);
}

TEST_F(PreflightTest, MissingFieldIsNamedWithTheFile) {
  site_json_.erase("store");
  ExpectFail(Find(Run(), "site-file"), site_file_ + ": missing 'store'");
  site_json_["store"] = "state/node.db";
  site_json_["tls"].erase("key");
  ExpectFail(Find(Run(), "site-file"), "tls: missing 'key'");
}

TEST_F(PreflightTest, ExpiredCertificateFails) {
  UseCertificate(Issue(pki_.ca(), sites::Role::kSite, "kb", "kb_old", -40 * kDay, 30));
  ExpectFail(Find(Run(), "certificate-dates"), "expired on");
}

TEST_F(PreflightTest, NotYetValidCertificateFails) {
  UseCertificate(Issue(pki_.ca(), sites::Role::kSite, "kb", "kb_future", 3 * kDay, 30));
  ExpectFail(Find(Run(), "certificate-dates"), "not valid yet");
}

TEST_F(PreflightTest, CertificateExpiringWithinThirtyDaysWarnsWithTheDate) {
  UseCertificate(Issue(pki_.ca(), sites::Role::kSite, "kb", "kb_ending", -20 * kDay, 30));
  const CheckResult r = Find(Run(), "certificate-dates");
  ExpectWarn(r, "expires on ");
  EXPECT_THAT(r.detail, AllOf(HasSubstr(" UTC (in 9 days)"), HasSubstr("renew")));
}

TEST_F(PreflightTest, CertificateFromAnotherCaFailsTheChain) {
  UseCertificate(Issue(OtherCa("other_ca"), sites::Role::kSite, "kb", "kb_other"));
  const CheckResult r = Find(Run(), "certificate-chain");
  ExpectFail(r, "does not verify against the CA in " + dir_ + "/ca.crt");
  EXPECT_THAT(r.detail, HasSubstr("unable to get local issuer certificate"));
}

TEST_F(PreflightTest, KeyThatIsNotTheCertificatesFails) {
  const TlsFiles other = Issue(pki_.ca(), sites::Role::kSite, "kb", "kb_second");
  site_json_["tls"]["key"] = other.key;
  ExpectFail(Find(Run(), "key-match"), "does not belong to the certificate");
}

TEST_F(PreflightTest, CommonNameOtherThanSiteIdFailsNamingBoth) {
  UseCertificate(Issue(pki_.ca(), sites::Role::kSite, "igr", "igr"));
  ExpectFail(Find(Run(), "certificate-name"),
             "the certificate's CN is 'igr' but the site file's site_id is 'kb'");
}

TEST_F(PreflightTest, KeyReadableByOthersFailsWithTheChmodToRun) {
  ASSERT_EQ(chmod(site_.key.c_str(), 0644), 0);
  const CheckResult r = Find(Run(), "key-permissions");
  ExpectFail(r, "mode 0644");
  EXPECT_THAT(r.detail, HasSubstr("chmod 600 " + site_.key));
}

TEST_F(PreflightTest, StoreUnderARegularFileFails) {
  // A path under a regular file cannot be created even by root.
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/not_a_folder", "x").ok());
  site_json_["store"] = dir_ + "/not_a_folder/state/node.db";
  ExpectFail(Find(Run(), "store"), "cannot be created");
}

TEST_F(PreflightTest, StoreInAReadOnlyFolderFails) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes anywhere; StoreUnderARegularFileFails covers it";
  ASSERT_TRUE(MakeDirs(dir_ + "/readonly").ok());
  ASSERT_EQ(chmod((dir_ + "/readonly").c_str(), 0555), 0);
  site_json_["store"] = dir_ + "/readonly/node.db";
  ExpectFail(Find(Run(), "store"), "cannot create a file there");
  chmod((dir_ + "/readonly").c_str(), 0755);
}

TEST_F(PreflightTest, FreeSpaceBelowTheThresholdWarnsWithTheFigure) {
  options_.min_free_bytes = uint64_t{1} << 60;  // 1 EiB: more than any test machine has
  const CheckResult r = Find(Run(), "disk-space");
  ExpectWarn(r, "GiB free at ");
  EXPECT_THAT(r.detail, HasSubstr("below 1073741824.0 GiB"));
}

TEST_F(PreflightTest, AggregatorOnAClosedPortFailsAsNoConnection) {
  const std::vector<CheckResult> results = Run();
  const CheckResult r = Find(results, "aggregator");
  ExpectFail(r, "no connection to 127.0.0.1:");
  EXPECT_THAT(r.detail, HasSubstr("Connection refused"));
  ExpectWarn(Find(results, "clock"), "not compared");
}

TEST_F(PreflightTest, AggregatorHostThatDoesNotResolveFails) {
  site_json_["aggregator"] = "aggregator.invalid:7443";  // .invalid never resolves (RFC 2606)
  ExpectFail(Find(Run(), "aggregator"), "cannot resolve the aggregator 'aggregator.invalid:7443'");
}

TEST_F(PreflightTest, AggregatorWithACertificateFromAnotherCaFails) {
  const sites::CertificateAndKey other = OtherCa("other_ca");
  TlsFiles server = Issue(other, sites::Role::kAggregator, "aggregator", "impostor");
  server.ca_cert = dir_ + "/other_ca.crt";
  StartAggregator(server, {});
  const std::vector<CheckResult> results = Run();
  const CheckResult r = Find(results, "aggregator");
  ExpectFail(r, "is not signed by the CA in " + dir_ + "/ca.crt");
  EXPECT_THAT(r.detail, HasSubstr("O=Other Consortium"));
  // The handshake still showed its certificate: the clock is compared with it.
  EXPECT_EQ(Find(results, "clock").status, CheckStatus::kOk);
}

TEST_F(PreflightTest, AggregatorCertificateForAnotherNameFails) {
  StartOurAggregator({"kb"});
  site_json_["aggregator_tls_name"] = "aggregator.example.org";
  ExpectFail(Find(Run(), "aggregator"), "not 'aggregator.example.org' (host name mismatch)");
}

TEST_F(PreflightTest, AggregatorThatDoesNotTrustOurCaFailsAfterTheHandshake) {
  // Its own certificate is from our CA, but it accepts clients of another CA only.
  OtherCa("other_ca");
  TlsFiles server = Issue(pki_.ca(), sites::Role::kAggregator, "aggregator", "aggregator");
  server.ca_cert = dir_ + "/other_ca.crt";
  StartAggregator(server, {});
  ExpectFail(Find(Run(), "aggregator"), "refused this site's certificate after the handshake");
}

TEST_F(PreflightTest, SiteNotEnrolledFailsAsRefusedByTheAggregator) {
  StartOurAggregator({"igr"});  // a real consortium, without kb
  const CheckResult r = Find(Run(), "aggregator");
  ExpectFail(r, "refuses site 'kb'");
  EXPECT_THAT(r.detail, AllOf(HasSubstr("not enrolled"), HasSubstr("scancov-coord enroll")));
}

TEST_F(PreflightTest, DisabledSiteFailsAsRefusedByTheAggregator) {
  StartOurAggregator({"kb"});
  ASSERT_TRUE(coordinator_->SetSiteEnabled("kb", false).ok());
  const CheckResult r = Find(Run(), "aggregator");
  ExpectFail(r, "refuses site 'kb'");
  EXPECT_THAT(r.detail, AllOf(HasSubstr("disabled"), HasSubstr("scancov-coord enable")));
}

TEST_F(PreflightTest, RevokedSiteCertificateFailsAsAuthenticationRefused) {
  absl::StatusOr<std::string> cert_pem = ReadFileToString(site_.cert);
  ASSERT_TRUE(cert_pem.ok());
  absl::StatusOr<sites::RevocationRecord> record = sites::RevocationRecordFor(
      *cert_pem, pki_.ca().certificate_pem, sites::RevocationReason::kKeyCompromise, absl::Now());
  ASSERT_TRUE(record.ok()) << record.status();
  absl::StatusOr<std::string> crl = sites::CreateCrl(pki_.ca(), {record->revoked}, {});
  ASSERT_TRUE(crl.ok()) << crl.status();
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/crl.pem", *crl).ok());
  aggregator::AggregatorServerOptions options;
  options.crl = dir_ + "/crl.pem";
  StartAggregator(Issue(pki_.ca(), sites::Role::kAggregator, "aggregator", "aggregator"), {"kb"},
                  options);
  const CheckResult r = Find(Run(), "aggregator");
  ExpectFail(r, "authentication refused");
  EXPECT_THAT(r.detail, HasSubstr("revoked"));
}

TEST_F(PreflightTest, CheckLeavesNoTraceOfTheSiteOnTheAggregator) {
  StartOurAggregator({"kb"});
  ASSERT_EQ(Find(Run(), "aggregator").status, CheckStatus::kOk);
  // Register would have recorded the node's version and device; the check's call does not.
  absl::StatusOr<v1::ListSitesResponse> sites = coordinator_->ListSites();
  ASSERT_TRUE(sites.ok()) << sites.status();
  ASSERT_EQ(sites->sites_size(), 1);
  EXPECT_EQ(sites->sites(0).node_version(), "");
}

TEST_F(PreflightTest, JsonIsAnArrayOfCheckStatusDetailAndTheExitCodeTellsAFailure) {
  StartOurAggregator({"kb"});
  ASSERT_TRUE(WriteFileAtomic(site_file_, site_json_.dump()).ok());
  std::ostringstream ok_out;
  const int ok_code = RunCheckCommand(site_file_, options_, true, ok_out);
  const nlohmann::json ok = nlohmann::json::parse(ok_out.str());
  ASSERT_TRUE(ok.is_array());
  ASSERT_GE(ok.size(), 12u);
  for (const nlohmann::json& line : ok) {
    ASSERT_TRUE(line.is_object());
    EXPECT_EQ(line.size(), 3u) << line;
    EXPECT_TRUE(line.at("check").is_string());
    EXPECT_TRUE(line.at("detail").is_string());
    EXPECT_EQ(line.at("status"), "ok") << line;
  }
  EXPECT_EQ(ok.at(0).at("check"), "site-file");

  ASSERT_EQ(chmod(site_.key.c_str(), 0640), 0);
  std::ostringstream failed_out;
  const int failed_code = RunCheckCommand(site_file_, options_, true, failed_out);
  const nlohmann::json failed = nlohmann::json::parse(failed_out.str());
  bool found = false;
  for (const nlohmann::json& line : failed) {
    if (line.at("check") == "key-permissions") {
      found = true;
      EXPECT_EQ(line.at("status"), "fail");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(ok_code, kPreflightExitOk);
  EXPECT_EQ(failed_code, kPreflightExitFailed);
  EXPECT_NE(ok_code, failed_code);
}

TEST(PreflightUnitTest, CudaAskedForWithoutAGpuFails) {
  sites::SiteConfig config;
  config.device = "cuda";
  EXPECT_EQ(CheckCompute(config, "cpu", 4).status, CheckStatus::kFail);
  EXPECT_EQ(CheckCompute(config, "cuda:NVIDIA H100", 4).status, CheckStatus::kOk);
  config.device = "auto";
  EXPECT_THAT(CheckCompute(config, "cpu", 4).detail, HasSubstr("4 CPU cores"));
  // Whether inference can run in bfloat16 at full speed, when the caller knows.
  EXPECT_THAT(CheckCompute(config, "cpu", 4, true).detail,
              HasSubstr("4 CPU cores; bfloat16 inference native"));
  EXPECT_THAT(CheckCompute(config, "cpu", 4, false).detail,
              HasSubstr("no native bfloat16 (inference in float32)"));
  EXPECT_THAT(CheckCompute(config, "cpu", 4).detail, ::testing::Not(HasSubstr("bfloat16")));
}

TEST(PreflightUnitTest, BlasIsReadFromTheProcessMaps) {
  const std::string maps =
      "7f01-7f02 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
      "7f03-7f04 r-xp 00000000 08:01 124 "
      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3\n"
      "7f05-7f06 r--p 00001000 08:01 124 "
      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3\n"
      "7f07-7f08 rw-p 00000000 00:00 0 [heap]\n";
  EXPECT_THAT(BlasLibrariesInMaps(maps),
              ::testing::ElementsAre("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"));
  const std::string path = ::testing::TempDir() + "/preflight_maps";
  ASSERT_TRUE(WriteFileAtomic(path, maps).ok());
  EXPECT_EQ(CheckBlas(path).status, CheckStatus::kOk);
  ASSERT_TRUE(
      WriteFileAtomic(path, "7f-7f r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3\n")
          .ok());
  ExpectWarn(CheckBlas(path), "the reference BLAS");
}

}  // namespace
}  // namespace scancov::node
