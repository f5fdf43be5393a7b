// `scancov-node check`: every failure the preflight detects, produced on purpose (a broken site
// file, a wrong certificate or key, a key others may read, a store that cannot be written, an
// aggregator that cannot be reached, that is not ours, or that has not enrolled the site), each
// named by its check; and the all-ok path against a real aggregator over mutual TLS. The clock
// line against aggregators whose clocks are set off this machine's, and against an aggregator
// older than the server time.
#include "node/preflight.h"

#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/grpc_util.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/revocation.h"
#include "tests/test_federation.h"
#include "tests/test_pki.h"

namespace scancov::node {
namespace {

using protocol::TlsFiles;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr int64_t kDay = 24 * 60 * 60;

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The real clock moved by a fixed offset: an aggregator's clock that is set wrong, and keeps
// running while the test does.
class OffsetClock : public Clock {
 public:
  absl::Time Now() override { return absl::Now() + offset; }
  void SleepFor(absl::Duration d) override { absl::SleepFor(d); }
  absl::Duration offset = absl::ZeroDuration();
};

// An aggregator of an earlier release over mutual TLS: without ServerTime (it answers
// UNIMPLEMENTED), or with one that leaves server_time_unix_ms at 0; UploadStatus for the empty
// task id answers NOT_FOUND, as the real one does for an enrolled site.
class OlderAggregator final : public v1::Federation::Service {
 public:
  explicit OlderAggregator(bool has_server_time) : has_server_time_(has_server_time) {}
  grpc::Status UploadStatus(grpc::ServerContext*, const v1::UploadStatusRequest*,
                            v1::UploadStatusResponse*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "task '' does not exist");
  }
  grpc::Status ServerTime(grpc::ServerContext* context, const v1::ServerTimeRequest* request,
                          v1::ServerTimeResponse* response) override {
    if (!has_server_time_) return Service::ServerTime(context, request, response);
    return grpc::Status::OK;  // the time left 0
  }

 private:
  const bool has_server_time_;
};

class PreflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.Init("preflight_");
    dir_ = std::filesystem::path(pki_.dir()).lexically_normal().string();
    site_ = Issue(pki_.ca(), sites::Role::kSite, "kb", "kb");
    site_file_ = dir_ + "/site.json";
    site_json_ = {{"site_id", "kb"},
                  {"aggregator", "127.0.0.1:" + std::to_string(ClosedPort())},
                  {"tls", {{"ca", site_.ca_cert}, {"cert", site_.cert}, {"key", site_.key}}},
                  {"data_dir", "data"},
                  {"store", "state/node.db"},
                  {"secret", "state/site.secret"}};
    options_.device_info = "cpu";
    options_.min_free_bytes = 1;  // the test machine's disk is not under test here
    options_.aggregator_timeout = absl::Seconds(5);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::ZeroDuration());
    if (older_server_) older_server_->Shutdown();
  }

  // A certificate from `ca` written as <dir>/<file>.crt and .key (0600), with the consortium
  // CA file of this test's PKI.
  TlsFiles Issue(const sites::CertificateAndKey& ca, sites::Role role, const std::string& id,
                 const std::string& file, int64_t not_before_offset_s = 0, int valid_days = 365) {
    sites::IssueOptions options;
    options.role = role;
    options.id = id;
    options.not_before_offset_s = not_before_offset_s;
    options.valid_days = valid_days;
    absl::StatusOr<sites::CertificateAndKey> issued = sites::IssueCertificate(ca, options);
    EXPECT_TRUE(issued.ok()) << issued.status();
    const std::string base = dir_ + "/" + file;
    EXPECT_TRUE(WriteFileAtomic(base + ".crt", issued->certificate_pem).ok());
    EXPECT_TRUE(WriteFileAtomic(base + ".key", issued->private_key_pem).ok());
    chmod((base + ".key").c_str(), 0600);
    return {dir_ + "/ca.crt", base + ".crt", base + ".key"};
  }

  // A second consortium's CA, written as <dir>/<name>.crt.
  sites::CertificateAndKey OtherCa(const std::string& name) {
    absl::StatusOr<sites::CertificateAndKey> ca =
        sites::CreateCertificateAuthority({"Other Consortium"});
    EXPECT_TRUE(ca.ok()) << ca.status();
    EXPECT_TRUE(WriteFileAtomic(dir_ + "/" + name + ".crt", ca->certificate_pem).ok());
    return *ca;
  }

  void UseCertificate(const TlsFiles& tls) {
    site_json_["tls"]["cert"] = tls.cert;
    site_json_["tls"]["key"] = tls.key;
  }

  // A real aggregator over mutual TLS on 127.0.0.1, serving `server_tls`; the coordinator of
  // this test's consortium enrols `enrolled`.
  void StartAggregator(const TlsFiles& server_tls, const std::vector<std::string>& enrolled,
                       aggregator::AggregatorServerOptions server_options = {}) {
    auto store = aggregator::AggregatorStore::Open(dir_ + "/aggregator.db");
    ASSERT_TRUE(store.ok()) << store.status();
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.clock = &aggregator_clock_;
    auto server = aggregator::AggregatorServer::Start(
        "127.0.0.1:0", server_tls,
        testing_sites::SpooledFederation(std::move(*store), options, dir_), server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    const std::string target = "127.0.0.1:" + std::to_string(server_->port());
    site_json_["aggregator"] = target;
    if (enrolled.empty()) return;
    const TlsFiles coordinator = Issue(pki_.ca(), sites::Role::kCoordinator, "alice", "alice");
    auto client = aggregator::CoordinatorClient::Create(target, coordinator);
    ASSERT_TRUE(client.ok()) << client.status();
    coordinator_ = std::move(*client);
    for (const std::string& site : enrolled) ASSERT_TRUE(coordinator_->EnrollSite(site, "").ok());
  }

  void StartOurAggregator(const std::vector<std::string>& enrolled) {
    StartAggregator(Issue(pki_.ca(), sites::Role::kAggregator, "aggregator", "aggregator"),
                    enrolled);
  }

  void StartOlderAggregator(bool has_server_time) {
    if (older_server_) older_server_->Shutdown();
    older_server_.reset();  // before the service it serves
    older_ = std::make_unique<OlderAggregator>(has_server_time);
    auto credentials = protocol::MakeMtlsServerCredentials(
        Issue(pki_.ca(), sites::Role::kAggregator, "aggregator", "aggregator"));
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
    builder.RegisterService(older_.get());
    older_server_ = builder.BuildAndStart();
    ASSERT_NE(older_server_, nullptr);
    site_json_["aggregator"] = "127.0.0.1:" + std::to_string(port);
  }

  std::vector<CheckResult> Run() {
    EXPECT_TRUE(WriteFileAtomic(site_file_, site_json_.dump(2)).ok());
    return RunPreflight(site_file_, options_);
  }

  // The result of `check`; a test whose check is gone fails here.
  static CheckResult Find(const std::vector<CheckResult>& results, const std::string& check) {
    for (const CheckResult& r : results) {
      if (r.check == check) return r;
    }
    ADD_FAILURE() << "no '" << check << "' line in:\n" << PreflightText(results);
    return {check, CheckStatus::kOk, "(missing)"};
  }

  testing_sites::TestPki pki_;
  std::string dir_;
  TlsFiles site_;
  std::string site_file_;
  nlohmann::json site_json_;
  PreflightOptions options_;
  OffsetClock aggregator_clock_;  // the real aggregator's; outlives server_
  std::unique_ptr<aggregator::AggregatorServer> server_;
  std::unique_ptr<aggregator::CoordinatorClient> coordinator_;
  std::unique_ptr<OlderAggregator> older_;
  std::unique_ptr<grpc::Server> older_server_;
};

void ExpectFail(const CheckResult& r, const std::string& detail_part) {
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.check << ": " << r.detail;
  EXPECT_THAT(r.detail, HasSubstr(detail_part));
}

void ExpectWarn(const CheckResult& r, const std::string& detail_part) {
  EXPECT_EQ(r.status, CheckStatus::kWarn) << r.check << ": " << r.detail;
  EXPECT_THAT(r.detail, HasSubstr(detail_part));
}

TEST_F(PreflightTest, AllOkAgainstARealAggregatorThatEnrolledTheSite) {
  StartOurAggregator({"kb"});
  const std::vector<CheckResult> results = Run();
  for (const CheckResult& r : results) {
    EXPECT_EQ(r.status, CheckStatus::kOk) << PreflightText({r});
  }
  EXPECT_THAT(Find(results, "aggregator").detail, HasSubstr("accepts site 'kb'"));
  EXPECT_THAT(Find(results, "clock").detail,
              AllOf(HasSubstr("the aggregator's (round trip "), HasSubstr("half of it taken off")));
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

TEST_F(PreflightTest, AggregatorClockTenMinutesAheadFailsNamingTheSkew) {
  aggregator_clock_.offset = absl::Minutes(10);
  StartOurAggregator({"kb"});
  const std::vector<CheckResult> results = Run();
  EXPECT_EQ(Find(results, "aggregator").status, CheckStatus::kOk);
  const CheckResult r = Find(results, "clock");
  ExpectFail(r, "behind the aggregator's (round trip ");
  // 10 minutes, give or take half a loopback round trip.
  EXPECT_THAT(r.detail, AnyOf(HasSubstr("this clock is 10m"), HasSubstr("this clock is 9m59")));
  EXPECT_THAT(r.detail, AllOf(HasSubstr("more than the 5m allowed"), HasSubstr("NTP")));
  EXPECT_EQ(PreflightExitCode(results), kPreflightExitFailed);
}

TEST_F(PreflightTest, AggregatorClockOneMinuteBehindWarns) {
  aggregator_clock_.offset = -absl::Minutes(1);
  StartOurAggregator({"kb"});
  const std::vector<CheckResult> results = Run();
  const CheckResult r = Find(results, "clock");
  ExpectWarn(r, "ahead of the aggregator's");
  EXPECT_THAT(r.detail, AnyOf(HasSubstr("this clock is 1m"), HasSubstr("this clock is 59.9")));
  EXPECT_THAT(r.detail, HasSubstr("more than 30s"));
  EXPECT_EQ(PreflightExitCode(results), kPreflightExitOk);  // a warning does not fail the check
}

TEST_F(PreflightTest, AggregatorClockAgreeingIsOkWithTheSkewShown) {
  StartOurAggregator({"kb"});
  const CheckResult r = Find(Run(), "clock");
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.detail;
  EXPECT_THAT(r.detail, HasSubstr(" the aggregator's (round trip "));
}

TEST_F(PreflightTest, AggregatorWithoutServerTimeFallsBackToItsCertificate) {
  StartOlderAggregator(/*has_server_time=*/false);
  std::vector<CheckResult> results = Run();
  EXPECT_EQ(Find(results, "aggregator").status, CheckStatus::kOk) << PreflightText(results);
  CheckResult r = Find(results, "clock");
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.detail;
  EXPECT_THAT(r.detail, AllOf(HasSubstr("within the aggregator's certificate validity"),
                              HasSubstr("sent no server time")));
  // One that has the call but sends 0: the same, not a skew of 56 years.
  StartOlderAggregator(/*has_server_time=*/true);
  results = Run();
  EXPECT_EQ(Find(results, "aggregator").status, CheckStatus::kOk) << PreflightText(results);
  r = Find(results, "clock");
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("sent no server time"));
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

TEST(PreflightUnitTest, ClockBeforeTheAggregatorsCertificateWarns) {
  const absl::Time issued = absl::FromUnixSeconds(1'700'000'000);
  const AggregatorClock window{
      PeerCertificateWindow{"CN=aggregator", issued, issued + absl::Hours(24 * 365)}, {}};
  ExpectWarn(CheckClock(window, issued - absl::Hours(2)), "at least 2h behind");
  EXPECT_EQ(CheckClock(window, issued + absl::Hours(1)).status, CheckStatus::kOk);
  ExpectWarn(CheckClock(AggregatorClock(), issued), "not compared");
}

TEST(PreflightUnitTest, MeasuredSkewFailsBeyondFiveMinutesAndWarnsBeyondThirtySeconds) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const auto clock = [&](absl::Duration skew) {
    return CheckClock(AggregatorClock{std::nullopt, ClockSkew{skew, absl::Milliseconds(4)}}, now);
  };
  EXPECT_EQ(clock(absl::ZeroDuration()).status, CheckStatus::kOk);
  EXPECT_EQ(clock(kClockSkewWarning).status, CheckStatus::kOk);
  EXPECT_EQ(clock(-kClockSkewWarning - absl::Milliseconds(1)).status, CheckStatus::kWarn);
  EXPECT_EQ(clock(kMaxClockSkew).status, CheckStatus::kWarn);
  ExpectFail(clock(kMaxClockSkew + absl::Milliseconds(1)), "5m0.001s behind");
  ExpectFail(clock(-absl::Hours(1)), "this clock is 1h ahead of the aggregator's (round trip 4ms");
}

}  // namespace
}  // namespace scancov::node
