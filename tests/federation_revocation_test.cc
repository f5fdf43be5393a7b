// Keys made where they are used, and revocation, over real gRPC with mutual TLS on 127.0.0.1:
// every participant (three hospitals, the coordinator, the aggregator) makes its own key and
// certificate request in its own directory and the CA (sites/pki/pki_directory.h) signs the
// requests; the aggregator runs with the consortium's CRL. Each test is an attack or a failure
// the PKI must stop, next to the honest use that must still work.
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/grpc_federation_client.h"
#include "protocol/study_kind.h"
#include "sites/pki/pki_directory.h"
#include "tests/test_federation.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using aggregator::AggregatorServer;
using aggregator::CoordinatorClient;
using protocol::TlsFiles;
using sites::Role;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kDay = 24 * 60 * 60;
const std::vector<std::string> kSites = {"kb", "igr", "hegp"};

class FederationRevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/revocation_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(MakeDirs(dir_).ok());
    pki_ = std::make_unique<sites::PkiDirectory>(dir_ + "/pki");
    sites::CaOptions ca;
    ca.consortium = "Test Consortium";
    ASSERT_TRUE(pki_->CreateCa(ca, sites::Overwrite::kRefuse).ok());
    aggregator_tls_ = Enrol(Role::kAggregator, "aggregator");
    coordinator_tls_ = Enrol(Role::kCoordinator, "alice");
    for (size_t i = 0; i < kSites.size(); ++i) {
      site_tls_[kSites[i]] = Enrol(Role::kSite, kSites[i]);
      sites_.push_back(testing_sites::MakeSite(kSites[i], 11 + i, 200));
    }
    ASSERT_TRUE(pki_->WriteCrl(sites::CrlOptions()).ok());
    StartAggregator();
    auto coordinator = CoordinatorClient::Create(target_, coordinator_tls_);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = std::move(*coordinator);
    for (const std::string& s : kSites) ASSERT_TRUE(coordinator_->EnrollSite(s, "").ok());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::ZeroDuration());
  }

  // The participant makes its key and request in its own directory; the CA signs the request.
  TlsFiles Enrol(Role role, const std::string& id) {
    const std::string home = dir_ + "/" + id;
    const std::string key = home + "/state/" + id + ".key";
    const std::string csr = home + "/" + id + ".csr";
    sites::RequestOptions request;
    request.role = role;
    request.id = id;
    EXPECT_TRUE(sites::WriteKeyAndRequest(request, key, csr, sites::Overwrite::kRefuse).ok());
    absl::StatusOr<std::string> csr_pem = ReadFileToString(csr);  // what travels to the CA
    EXPECT_TRUE(csr_pem.ok());
    sites::SignOptions sign;
    sign.role = role;
    sign.id = id;
    sign.valid_days = 30;
    absl::StatusOr<sites::SignedRequest> signed_request =
        pki_->Sign(*csr_pem, sign, sites::Overwrite::kRefuse);
    EXPECT_TRUE(signed_request.ok()) << signed_request.status();
    return {pki_->CaCertificatePath(), pki_->CertificatePath({role, id}), key};
  }

  void StartAggregator() {
    auto store = aggregator::AggregatorStore::Open(dir_ + "/aggregator.db");
    ASSERT_TRUE(store.ok());
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.wait = absl::Milliseconds(100);
    aggregator::AggregatorServerOptions server_options;
    server_options.crl = pki_->CrlPath();
    server_options.on_crl_warning = [this](const absl::Status& s) {
      absl::MutexLock lock(&mu_);
      warnings_.push_back(std::string(s.message()));
    };
    auto server = AggregatorServer::Start(
        target_.empty() ? "127.0.0.1:0" : target_, aggregator_tls_,
        testing_sites::SpooledFederation(std::move(*store), options, dir_), server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    target_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  std::string Serial(const TlsFiles& who) {
    absl::StatusOr<std::string> pem = ReadFileToString(who.cert);
    EXPECT_TRUE(pem.ok());
    absl::StatusOr<sites::CertificateInfo> info = sites::DescribeCertificate(*pem);
    EXPECT_TRUE(info.ok());
    return info.ok() ? info->serial_hex : "";
  }

  // The CA revokes `who` and publishes a CRL, as `scancov-pki revoke` then `crl` do.
  void RevokeAndPublish(const TlsFiles& who, sites::RevocationReason reason) {
    absl::StatusOr<std::string> pem = ReadFileToString(who.cert);
    ASSERT_TRUE(pem.ok());
    ASSERT_TRUE(pki_->Revoke(*pem, reason, absl::Now()).ok());
    ASSERT_TRUE(pki_->WriteCrl(sites::CrlOptions()).ok());
  }

  std::vector<std::string> Warnings() {
    absl::MutexLock lock(&mu_);
    return warnings_;
  }

  std::unique_ptr<node::GrpcFederationClient> Client(const std::string& site,
                                                     node::GrpcClientOptions options = {}) {
    options.unary_timeout = absl::Seconds(5);
    auto client = node::GrpcFederationClient::Create(target_, site_tls_[site], "", options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  v1::StudySpec Spec(const std::string& name, const std::vector<std::string>& sites) {
    v1::StudySpec spec;
    spec.set_name(name);
    spec.set_kind(v1::STUDY_KIND_ANALYSIS);
    spec.set_study_kind(
        std::string(protocol::StudyKindName(protocol::StudyKind::univariate_association)));
    for (const std::string& s : sites) spec.add_sites(s);
    spec.set_round_timeout_s(120);
    spec.set_spec_json(R"({"outcome": "severe", "variables": ["age", "spo2"]})");
    return spec;
  }

  // Runs a node for every site (threads) until no running study includes it; returns how
  // each node's agent ended.
  std::map<std::string, absl::Status> RunNodes(node::GrpcClientOptions client_options = {}) {
    std::map<std::string, absl::Status> ended;
    std::mutex ended_mu;
    std::vector<std::thread> threads;
    for (testing_sites::Site& site : sites_) {
      threads.emplace_back([&, client_options] {
        node::ClinicalDatasetSource source(site.db.get());
        std::unique_ptr<node::TaskHost> host = testing_sites::MakeAnalysisHost(&source, site.id);
        std::unique_ptr<node::GrpcFederationClient> client = Client(site.id, client_options);
        ASSERT_NE(client, nullptr);
        node::AgentOptions options;
        options.exit_when_idle = true;
        options.initial_backoff = absl::Milliseconds(50);
        options.node_version = "test";
        node::NodeAgent agent(client.get(), &host->gate(), nullptr, options);
        const absl::Status status = agent.Run();
        std::lock_guard<std::mutex> lock(ended_mu);
        ended[site.id] = status;
      });
    }
    for (std::thread& t : threads) t.join();
    return ended;
  }

  std::string dir_;
  std::unique_ptr<sites::PkiDirectory> pki_;
  TlsFiles aggregator_tls_, coordinator_tls_;
  std::map<std::string, TlsFiles> site_tls_;
  std::vector<testing_sites::Site> sites_;
  std::unique_ptr<AggregatorServer> server_;
  std::string target_;
  std::unique_ptr<CoordinatorClient> coordinator_;
  absl::Mutex mu_;
  std::vector<std::string> warnings_ ABSL_GUARDED_BY(mu_);
};

TEST_F(FederationRevocationTest, SitesWhoseKeysWereMadeAtTheSiteTakePart) {
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("table", kSites)).ok());
  for (const auto& [site, status] : RunNodes()) EXPECT_TRUE(status.ok()) << site << ": " << status;
  absl::StatusOr<v1::StudyStatus> status = coordinator_->GetStudyStatus("table");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  // The CA's directory holds no private key but its own.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(pki_->root())) {
    if (entry.path().extension() == ".key") EXPECT_EQ(entry.path(), pki_->CaKeyPath());
  }
  EXPECT_TRUE(Warnings().empty());
}

TEST_F(FederationRevocationTest, RequestForAnotherRoleOrIdIsRefusedAtSigning) {
  // kb writes OU=coordinator into its request, hoping for a coordinator certificate.
  sites::RequestOptions greedy;
  greedy.role = Role::kCoordinator;
  greedy.id = "kb";
  const std::string csr = dir_ + "/kb/greedy.csr";
  ASSERT_TRUE(sites::WriteKeyAndRequest(greedy, dir_ + "/kb/state/greedy.key", csr,
                                        sites::Overwrite::kRefuse)
                  .ok());
  absl::StatusOr<std::string> pem = ReadFileToString(csr);
  ASSERT_TRUE(pem.ok());
  sites::SignOptions as_site;  // what the CA was asked: kb is a site
  as_site.role = Role::kSite;
  as_site.id = "kb";
  absl::StatusOr<sites::SignedRequest> r = pki_->Sign(*pem, as_site, sites::Overwrite::kAllow);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("OU disagrees with the role"));
  sites::SignOptions as_other_coordinator;
  as_other_coordinator.role = Role::kCoordinator;
  as_other_coordinator.id = "alice";
  r = pki_->Sign(*pem, as_other_coordinator, sites::Overwrite::kAllow);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("CN disagrees with the id"));
  // Neither refusal touched the certificates in use: kb is still a site, alice the coordinator.
  EXPECT_TRUE(Client("kb")->PullTask().ok());
  EXPECT_TRUE(coordinator_->ListSites().ok());
}

TEST_F(FederationRevocationTest, RevokedSiteIsRefusedOnceTheCrlIsWrittenWithoutRestart) {
  std::unique_ptr<node::GrpcFederationClient> kb = Client("kb");
  v1::RegisterRequest hello;
  hello.set_protocol_version(v1::PROTOCOL_VERSION_1);
  ASSERT_TRUE(kb->Register(hello).ok());
  absl::StatusOr<std::string> pem = ReadFileToString(site_tls_["kb"].cert);
  ASSERT_TRUE(pem.ok());
  ASSERT_TRUE(pki_->Revoke(*pem, sites::RevocationReason::kKeyCompromise, absl::Now()).ok());
  EXPECT_TRUE(kb->PullTask().ok()) << "recorded, not yet published";
  ASSERT_TRUE(pki_->WriteCrl(sites::CrlOptions()).ok());

  // The same aggregator process, the same open connection: refused on the next call.
  for (const absl::Status& refused : {kb->Register(hello).status(), kb->PullTask().status()}) {
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated) << refused;
    EXPECT_THAT(refused.message(), HasSubstr("serial " + Serial(site_tls_["kb"])));
    EXPECT_THAT(refused.message(), HasSubstr("keyCompromise"));
    EXPECT_THAT(refused.message(), Not(HasSubstr("PRIVATE")));
  }
  // The others go on: a study without kb completes, and kb's node stops on the refusal.
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("without-kb", {"igr", "hegp"})).ok());
  std::map<std::string, absl::Status> ended = RunNodes();
  EXPECT_EQ(ended["kb"].code(), absl::StatusCode::kUnauthenticated) << ended["kb"];
  EXPECT_TRUE(ended["igr"].ok()) << ended["igr"];
  EXPECT_TRUE(ended["hegp"].ok()) << ended["hegp"];
  EXPECT_EQ(coordinator_->GetStudyStatus("without-kb")->state(), v1::STUDY_STATE_DONE);
}

TEST_F(FederationRevocationTest, RevokedCoordinatorIsRefused) {
  ASSERT_TRUE(coordinator_->ListSites().ok());
  RevokeAndPublish(coordinator_tls_, sites::RevocationReason::kAffiliationChanged);
  absl::StatusOr<v1::ListSitesResponse> listed = coordinator_->ListSites();
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(listed.status().message(), HasSubstr("serial " + Serial(coordinator_tls_)));
  EXPECT_THAT(listed.status().message(), HasSubstr("affiliationChanged"));
  absl::StatusOr<v1::StudyStatus> created = coordinator_->CreateStudy(Spec("hijack", kSites));
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnauthenticated);
  // A new coordinator key and certificate (made where it is used) works again.
  sites::RequestOptions request;
  request.role = Role::kCoordinator;
  request.id = "bob";
  ASSERT_TRUE(sites::WriteKeyAndRequest(request, dir_ + "/bob/bob.key", dir_ + "/bob/bob.csr",
                                        sites::Overwrite::kRefuse)
                  .ok());
  sites::SignOptions sign;
  sign.role = Role::kCoordinator;
  sign.id = "bob";
  ASSERT_TRUE(
      pki_->Sign(*ReadFileToString(dir_ + "/bob/bob.csr"), sign, sites::Overwrite::kRefuse).ok());
  auto bob = CoordinatorClient::Create(
      target_, {pki_->CaCertificatePath(), pki_->CertificatePath({Role::kCoordinator, "bob"}),
                dir_ + "/bob/bob.key"});
  ASSERT_TRUE(bob.ok());
  EXPECT_TRUE((*bob)->ListSites().ok());
}

TEST_F(FederationRevocationTest, ExpiredCrlIsReportedAndStillApplied) {
  std::unique_ptr<node::GrpcFederationClient> igr = Client("igr");
  ASSERT_TRUE(igr->PullTask().ok());
  ASSERT_TRUE(Warnings().empty());
  absl::StatusOr<std::string> pem = ReadFileToString(site_tls_["kb"].cert);
  ASSERT_TRUE(pem.ok());
  ASSERT_TRUE(pki_->Revoke(*pem, sites::RevocationReason::kUnspecified, absl::Now()).ok());
  sites::CrlOptions stale;
  stale.this_update_offset_s = -10 * kDay;
  stale.valid_days = 7;
  ASSERT_TRUE(pki_->WriteCrl(stale).ok());

  EXPECT_TRUE(igr->PullTask().ok());  // not a refusal of everyone...
  EXPECT_EQ(Client("kb")->PullTask().status().code(), absl::StatusCode::kUnauthenticated);
  std::vector<std::string> warnings = Warnings();  // ...and not a silent accept
  ASSERT_FALSE(warnings.empty());
  EXPECT_THAT(warnings[0], HasSubstr("EXPIRED"));
  EXPECT_THAT(warnings[0], HasSubstr(pki_->CrlPath()));

  // An aggregator (re)started on the stale CRL reports it at once.
  server_->Shutdown(absl::ZeroDuration());
  server_.reset();
  const size_t before = Warnings().size();
  StartAggregator();
  ASSERT_GT(Warnings().size(), before);
  EXPECT_THAT(Warnings().back(), HasSubstr("EXPIRED"));
}

TEST_F(FederationRevocationTest, NodeRefusesAnAggregatorWhoseCertificateIsRevoked) {
  // kb keeps its own copy of the consortium's CRL, as the site file's "crl" names it.
  const std::string kb_crl = dir_ + "/kb/crl.pem";
  auto copy_crl = [&] {
    std::filesystem::copy_file(pki_->CrlPath(), kb_crl,
                               std::filesystem::copy_options::overwrite_existing);
  };
  copy_crl();
  node::GrpcClientOptions with_crl;
  with_crl.crl = kb_crl;
  std::unique_ptr<node::GrpcFederationClient> kb = Client("kb", with_crl);
  ASSERT_NE(kb, nullptr);
  v1::RegisterRequest hello;
  hello.set_protocol_version(v1::PROTOCOL_VERSION_1);
  ASSERT_TRUE(kb->Register(hello).ok());

  RevokeAndPublish(aggregator_tls_, sites::RevocationReason::kKeyCompromise);
  copy_crl();
  // The same client, without a restart: the next call opens a new, checked connection.
  absl::StatusOr<v1::RegisterResponse> refused = kb->Register(hello);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("aggregator certificate refused"));
  EXPECT_THAT(refused.status().message(), HasSubstr("serial " + Serial(aggregator_tls_)));
  EXPECT_THAT(refused.status().message(), HasSubstr("keyCompromise"));
  EXPECT_EQ(kb->PullTask().status().code(), absl::StatusCode::kUnauthenticated);
  // A node with the CRL stops on it instead of retrying; a site without the CRL still reaches
  // this aggregator (the refusal is the site's own check, not the aggregator's).
  std::map<std::string, absl::Status> ended = RunNodes(with_crl);
  EXPECT_EQ(ended["kb"].code(), absl::StatusCode::kUnauthenticated) << ended["kb"];
  EXPECT_TRUE(Client("igr")->PullTask().ok());
}

TEST_F(FederationRevocationTest, NodeWithCrlStillChecksTheChainAndTheHostName) {
  const std::string crl = pki_->CrlPath();
  node::GrpcClientOptions with_crl;
  with_crl.crl = crl;
  with_crl.unary_timeout = absl::Seconds(5);
  // The honest aggregator passes.
  auto honest = node::GrpcFederationClient::Create(target_, site_tls_["kb"], "", with_crl);
  ASSERT_TRUE(honest.ok()) << honest.status();
  EXPECT_TRUE((*honest)->PullTask().ok());
  // A name the aggregator's certificate does not carry is refused.
  auto wrong_name =
      node::GrpcFederationClient::Create(target_, site_tls_["kb"], "evil.example.org", with_crl);
  ASSERT_TRUE(wrong_name.ok());
  EXPECT_EQ((*wrong_name)->PullTask().status().code(), absl::StatusCode::kUnavailable);
  // An aggregator with a certificate from another CA (same consortium name) is refused.
  sites::PkiDirectory rogue(dir_ + "/rogue");
  sites::CaOptions ca;
  ca.consortium = "Test Consortium";
  ASSERT_TRUE(rogue.CreateCa(ca, sites::Overwrite::kRefuse).ok());
  sites::IssueOptions agg;
  agg.role = Role::kAggregator;
  agg.id = "aggregator";
  ASSERT_TRUE(rogue.Issue(agg, sites::Overwrite::kRefuse).ok());
  const TlsFiles rogue_tls = {pki_->CaCertificatePath(),
                              rogue.CertificatePath({Role::kAggregator, "aggregator"}),
                              rogue.KeyPath({Role::kAggregator, "aggregator"})};
  auto store = aggregator::AggregatorStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  aggregator::FederationOptions options;
  options.studies = &aggregator::AllStudyLogics();
  auto impostor =
      AggregatorServer::Start("127.0.0.1:0", rogue_tls,
                              std::make_unique<aggregator::Federation>(std::move(*store), options));
  ASSERT_TRUE(impostor.ok()) << impostor.status();
  auto fooled = node::GrpcFederationClient::Create(
      "127.0.0.1:" + std::to_string((*impostor)->port()), site_tls_["kb"], "", with_crl);
  ASSERT_TRUE(fooled.ok());
  EXPECT_EQ((*fooled)->PullTask().status().code(), absl::StatusCode::kUnavailable);
  (*impostor)->Shutdown(absl::ZeroDuration());
}

TEST_F(FederationRevocationTest, AggregatorRefusesToStartOnACrlItCannotTrust) {
  sites::PkiDirectory rogue(dir_ + "/rogue");
  sites::CaOptions ca;
  ca.consortium = "Test Consortium";
  ASSERT_TRUE(rogue.CreateCa(ca, sites::Overwrite::kRefuse).ok());
  ASSERT_TRUE(rogue.WriteCrl(sites::CrlOptions()).ok());
  auto store = aggregator::AggregatorStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  aggregator::FederationOptions options;
  options.studies = &aggregator::AllStudyLogics();
  aggregator::AggregatorServerOptions server_options;
  server_options.crl = rogue.CrlPath();
  auto server = AggregatorServer::Start(
      "127.0.0.1:0", aggregator_tls_,
      std::make_unique<aggregator::Federation>(std::move(*store), options), server_options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnauthenticated) << server.status();
  EXPECT_THAT(server.status().message(), HasSubstr("aggregator: CRL"));
}

}  // namespace
}  // namespace scancov
