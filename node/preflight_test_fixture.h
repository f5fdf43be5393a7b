// The fixture of the preflight tests (preflight_test.cc, preflight_clock_test.cc): a site
// file, certificates and key from a test CA, and a real aggregator over mutual TLS whose clock can
// be set off this machine's; an older aggregator without ServerTime on demand.
#ifndef SCANCOV_NODE_PREFLIGHT_TEST_FIXTURE_H_
#define SCANCOV_NODE_PREFLIGHT_TEST_FIXTURE_H_

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
#include "node/preflight.h"
#include "protocol/grpc_util.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/revocation.h"
#include "tests/test_federation.h"
#include "tests/test_pki.h"

namespace scancov::node::preflight_testing {

using protocol::TlsFiles;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr int64_t kDay = 24 * 60 * 60;

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
inline int ClosedPort() {
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

inline void ExpectFail(const CheckResult& r, const std::string& detail_part) {
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.check << ": " << r.detail;
  EXPECT_THAT(r.detail, HasSubstr(detail_part));
}

inline void ExpectWarn(const CheckResult& r, const std::string& detail_part) {
  EXPECT_EQ(r.status, CheckStatus::kWarn) << r.check << ": " << r.detail;
  EXPECT_THAT(r.detail, HasSubstr(detail_part));
}

}  // namespace scancov::node::preflight_testing

#endif  // SCANCOV_NODE_PREFLIGHT_TEST_FIXTURE_H_
