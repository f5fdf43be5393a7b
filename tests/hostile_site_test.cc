// Hostile streams over real gRPC with mutual TLS (issue 13): oversized and malformed uploads from
// an enrolled site, from a disabled site, from a site that is not enrolled and from a coordinator
// certificate are refused before the aggregator stores or allocates anything for them, and the
// aggregator's memory does not grow with them (measured); a site cannot hold more streams than
// its limit; a scaled update and an inflated sample count do not move a robust strategy's model
// beyond the honest sites' spread. No LibTorch: the "nodes" are raw clients.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <thread>

#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "core/sha256.h"
#include "gtest/gtest.h"
#include "node/grpc_federation_client.h"
#include "protocol/grpc_util.h"
#include "protocol/weights_codec.h"
#include "tests/test_federation.h"
#include "tests/test_pki.h"

namespace scancov {
namespace {

using aggregator::AggregatorServer;
using aggregator::CoordinatorClient;
using protocol::TensorSet;

// Resident memory of this process (the aggregator runs in it), in bytes.
int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

TensorSet Model(float value) {
  TensorSet s;
  std::vector<float> w(64 * 1024, value);  // 256 KiB: a stream of several 16 KiB chunks
  EXPECT_TRUE(s.Add(protocol::MakeFloat32("w", {64, 1024}, w)).ok());
  return s;
}

class HostileSiteTest : public ::testing::Test {
 public:
  void SetUp() override {
    pki_.Init("hostile_");
    auto store = aggregator::AggregatorStore::Open(pki_.dir() + "/aggregator.db");
    ASSERT_TRUE(store.ok());
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.wait = absl::Milliseconds(50);
    aggregator::AggregatorServerOptions server_options;
    server_options.streams_per_site = 2;
    auto server = AggregatorServer::Start(
        "127.0.0.1:0", pki_.Issue(sites::Role::kAggregator, "aggregator"),
        testing_sites::SpooledFederation(std::move(*store), options, pki_.dir()), server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    target_ = "127.0.0.1:" + std::to_string(server_->port());
    coordinator_tls_ = pki_.Issue(sites::Role::kCoordinator, "alice");
    auto coordinator = CoordinatorClient::Create(target_, coordinator_tls_);
    ASSERT_TRUE(coordinator.ok());
    coordinator_ = std::move(*coordinator);
    for (const char* s : {"kb", "igr", "hegp", "bcn", "apr"}) {
      ASSERT_TRUE(coordinator_->EnrollSite(s, s).ok());
      tls_[s] = pki_.Issue(sites::Role::kSite, s);
    }
    tls_["stranger"] = pki_.Issue(sites::Role::kSite, "stranger");  // never enrolled
  }

  std::unique_ptr<node::GrpcFederationClient> Client(const std::string& site) {
    auto client = node::GrpcFederationClient::Create(target_, tls_[site]);
    EXPECT_TRUE(client.ok()) << client.status();
    v1::RegisterRequest hello;
    hello.set_protocol_version(v1::PROTOCOL_VERSION_2);
    if (site != "stranger") EXPECT_TRUE((*client)->Register(hello).ok());
    return std::move(*client);
  }

  // A training study over kb, igr, hegp, bcn and apr whose initial model kb uploads; returns the
  // TRAIN task of `site` in round 1.
  v1::Task StartStudy(const std::string& name, const std::string& strategy) {
    v1::StudySpec spec;
    spec.set_name(name);
    spec.set_kind(v1::STUDY_KIND_TRAINING);
    for (const char* s : {"kb", "igr", "hegp", "bcn", "apr"}) spec.add_sites(s);
    spec.set_rounds(1);
    spec.set_strategy(strategy);
    spec.mutable_plan()->set_model("toy");
    spec.mutable_plan()->set_local_epochs(1);
    spec.mutable_plan()->set_learning_rate(0.1);
    EXPECT_TRUE(coordinator_->CreateStudy(spec).ok());
    auto kb = Client("kb");
    auto init = kb->PullTask();
    EXPECT_TRUE(init.ok() && init->has_task());
    v1::UploadHeader header;
    header.set_task_id(init->task().task_id());
    header.set_num_samples(1);
    const TensorSet model = Model(0);
    EXPECT_TRUE(kb->UploadResult(header, &model).ok());
    auto train = kb->PullTask();
    EXPECT_TRUE(train.ok() && train->has_task()) << train->DebugString();
    return train->task();
  }

  // Sends a raw upload (header, then `manifest`, then `chunks`) with `tls`'s certificate.
  grpc::Status RawUpload(const protocol::TlsFiles& tls, const v1::UploadHeader& header,
                         const v1::WeightsManifest& manifest,
                         const std::vector<v1::WeightsChunk>& chunks = {}) {
    auto channel = protocol::MakeMtlsChannel(target_, tls);
    EXPECT_TRUE(channel.ok());
    auto stub = v1::Federation::NewStub(*channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::UploadResponse response;
    auto writer = stub->UploadResult(&context, &response);
    v1::UploadMessage message;
    *message.mutable_header() = header;
    message.mutable_header()->set_has_weights(true);
    bool ok = writer->Write(message);
    message.Clear();
    *message.mutable_manifest() = manifest;
    ok = ok && writer->Write(message);
    for (const v1::WeightsChunk& c : chunks) {
      message.Clear();
      *message.mutable_chunk() = c;
      if (!(ok = ok && writer->Write(message))) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  uint64_t SpoolBytes() { return server_->federation()->spool()->bytes_on_disk(); }

  testing_sites::TestPki pki_;
  std::unique_ptr<AggregatorServer> server_;
  std::string target_;
  protocol::TlsFiles coordinator_tls_;
  std::unique_ptr<CoordinatorClient> coordinator_;
  std::map<std::string, protocol::TlsFiles> tls_;
};

// A manifest announcing `tensors` of the given shapes (float32), tiled honestly.
v1::WeightsManifest Announce(const std::vector<std::vector<int64_t>>& shapes, uint32_t chunk_bytes,
                             uint64_t total_override = 0) {
  v1::WeightsManifest m;
  uint64_t offset = 0;
  int i = 0;
  for (const auto& shape : shapes) {
    v1::TensorSpec* t = m.add_tensors();
    t->set_name("t" + std::to_string(i++));
    uint64_t n = 1;
    for (int64_t d : shape) {
      t->add_shape(d);
      n *= static_cast<uint64_t>(d);
    }
    t->set_dtype(v1::DTYPE_FLOAT32);
    t->set_offset(offset);
    t->set_nbytes(n * 4);
    offset += n * 4;
  }
  m.set_total_bytes(total_override ? total_override : offset);
  m.set_chunk_bytes(chunk_bytes);
  m.set_num_chunks(static_cast<uint32_t>((m.total_bytes() + chunk_bytes - 1) / chunk_bytes));
  m.set_sha256(std::string(32, 'x'));
  return m;
}

TEST_F(HostileSiteTest, OversizedAndMalformedManifestsAreRefusedBeforeAnythingIsStored) {
  const v1::Task task = StartStudy("hostile", "fedavg");
  v1::UploadHeader header;
  header.set_task_id(task.task_id());
  header.set_num_samples(100);
  const int64_t before = ResidentBytes();
  struct Case {
    const char* what;
    v1::WeightsManifest manifest;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"a terabyte", Announce({{1 << 20, 1 << 18}}, 1 << 20), "above the limit"},
      {"an overflowing shape", Announce({{1LL << 40, 1LL << 40}}, 1 << 20), "overflow"},
      {"262,144 one-byte chunks", Announce({{64, 1024}}, 1, 0), "below the minimum"},
      {"the wrong layout", Announce({{1024, 64}}, 16384), "expected 'w' [64, 1024]"},
      {"bytes not tiling the payload", Announce({{64, 1024}}, 16384, 999), "total"},
  };
  for (int round = 0; round < 20; ++round) {  // repeated: memory must not grow with them
    for (const Case& c : cases) {
      const grpc::Status s = RawUpload(tls_["kb"], header, c.manifest);
      ASSERT_FALSE(s.ok()) << c.what;
      EXPECT_TRUE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                  s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
          << c.what << ": " << s.error_message();
      if (round == 0) {
        EXPECT_NE(s.error_message().find(c.says), std::string::npos)
            << c.what << ": " << s.error_message();
      }
    }
  }
  EXPECT_EQ(SpoolBytes(), 0u) << "nothing of a refused upload is kept";
  const int64_t growth = ResidentBytes() - before;
  std::cout << "[ hostile  ] resident memory growth over 100 hostile uploads: " << growth / 1024
            << " KiB\n";
  EXPECT_LT(growth, 32 << 20) << "the aggregator allocated for what the manifests announced";
  // The honest upload of the same task is still accepted afterwards.
  const TensorSet update = Model(1);
  EXPECT_TRUE(Client("kb")->UploadResult(header, &update).ok());
}

TEST_F(HostileSiteTest, CallersWhoMayNotUploadAreRefusedFromTheHeader) {
  const v1::Task task = StartStudy("callers", "fedavg");
  v1::UploadHeader header;
  header.set_task_id(task.task_id());
  header.set_num_samples(100);
  const v1::WeightsManifest huge = Announce({{1 << 20, 1 << 18}}, 1 << 20);
  ASSERT_TRUE(coordinator_->SetSiteEnabled("apr", false).ok());
  struct Case {
    std::string who;
    protocol::TlsFiles tls;
    grpc::StatusCode code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"a disabled site", tls_["apr"], grpc::StatusCode::PERMISSION_DENIED,
       "site 'apr' is disabled"},
      {"a site not enrolled", tls_["stranger"], grpc::StatusCode::PERMISSION_DENIED,
       "not enrolled"},
      {"a coordinator", coordinator_tls_, grpc::StatusCode::PERMISSION_DENIED,
       "holds a coordinator certificate"},
      {"another site", tls_["igr"], grpc::StatusCode::PERMISSION_DENIED,
       "was not given to site 'igr'"},
  };
  for (const Case& c : cases) {
    const grpc::Status s = RawUpload(c.tls, header, huge);
    EXPECT_EQ(s.error_code(), c.code) << c.who << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.says), std::string::npos)
        << c.who << ": " << s.error_message();
  }
  EXPECT_EQ(SpoolBytes(), 0u);
  auto audit = coordinator_->ReadAudit(0, 0);
  ASSERT_TRUE(audit.ok());
  int refused = 0;
  for (const v1::AuditEntry& e : audit->entries()) refused += e.action() == "result_refused";
  EXPECT_GE(refused, 3) << "the refusals of known callers are in the audit log";
}

TEST_F(HostileSiteTest, ASiteCannotHoldMoreStreamsThanItsLimit) {
  const v1::Task task = StartStudy("streams", "fedavg");
  // Two uploads that announce a valid manifest and then stall hold kb's two stream slots.
  auto channel = protocol::MakeMtlsChannel(target_, tls_["kb"]);
  ASSERT_TRUE(channel.ok());
  auto stub = v1::Federation::NewStub(*channel);
  // Different updates: two streams of the same one are refused by the spool itself.
  const TensorSet first = Model(2), second = Model(3), model = Model(1);
  protocol::WeightsEncoder first_encoder(first, 16384), second_encoder(second, 16384);
  protocol::WeightsEncoder encoder(model, 16384);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientWriter<v1::UploadMessage>>> writers;
  v1::UploadResponse ignored;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    writers.push_back(stub->UploadResult(contexts.back().get(), &ignored));
    v1::UploadMessage m;
    m.mutable_header()->set_task_id(task.task_id());
    m.mutable_header()->set_num_samples(100);
    m.mutable_header()->set_has_weights(true);
    ASSERT_TRUE(writers.back()->Write(m));
    m.Clear();
    *m.mutable_manifest() = (i == 0 ? first_encoder : second_encoder).manifest();
    ASSERT_TRUE(writers.back()->Write(m));
  }
  absl::SleepFor(absl::Milliseconds(300));
  v1::UploadHeader header;
  header.set_task_id(task.task_id());
  header.set_num_samples(100);
  const grpc::Status third = RawUpload(tls_["kb"], header, encoder.manifest());
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << third.error_message();
  EXPECT_NE(third.error_message().find("kb"), std::string::npos) << third.error_message();
  for (auto& c : contexts) c->TryCancel();
  for (auto& w : writers) w->Finish().ok();
  // The slots are free again: the honest upload goes through.
  EXPECT_TRUE(Client("kb")->UploadResult(header, &model).ok());
}

// Four honest sites (updates 0.9..1.2) and one that sends 100x with the largest sample count
// the study accepts: the robust strategy's model stays within the honest spread.
void ExpectRobust(HostileSiteTest& t, const std::string& strategy) {
  const std::string name = "robust";
  t.StartStudy(name, strategy);
  const std::map<std::string, float> honest = {
      {"kb", 1.0f}, {"igr", 1.2f}, {"hegp", 0.9f}, {"bcn", 1.1f}};
  for (const auto& [site, value] : honest) {
    auto client = t.Client(site);
    auto task = client->PullTask();
    ASSERT_TRUE(task.ok() && task->has_task()) << site;
    v1::UploadHeader header;
    header.set_task_id(task->task().task_id());
    header.set_num_samples(100);
    const TensorSet update = Model(value);
    ASSERT_TRUE(client->UploadResult(header, &update).ok()) << site;
  }
  auto apr = t.Client("apr");
  auto task = apr->PullTask();
  ASSERT_TRUE(task.ok() && task->has_task());
  v1::UploadHeader header;
  header.set_task_id(task->task().task_id());
  header.set_num_samples(1'000'000);
  const TensorSet scaled = Model(100.0f);
  ASSERT_TRUE(apr->UploadResult(header, &scaled).ok());
  auto checkpoint = t.coordinator_->DownloadCheckpoint(name, name + "/c1");
  ASSERT_TRUE(checkpoint.ok()) << strategy << ": " << checkpoint.status();
  const std::vector<double> w = protocol::ToDoubles(*checkpoint->Find("w"));
  std::cout << "[ hostile  ] " << strategy << ": global " << w[0] << " (honest 0.9..1.2)\n";
  EXPECT_GE(w[0], 0.9 - 1e-6) << strategy;
  EXPECT_LE(w[0], 1.2 + 1e-6) << strategy << ": the model left the honest spread";
}

TEST_F(HostileSiteTest, AScaledUpdateDoesNotMoveTheMedian) { ExpectRobust(*this, "median"); }
TEST_F(HostileSiteTest, AScaledUpdateDoesNotMoveTheTrimmedMean) {
  ExpectRobust(*this, "trimmed_mean:1");
}
TEST_F(HostileSiteTest, AScaledUpdateDoesNotMoveKrum) { ExpectRobust(*this, "krum:1"); }

TEST_F(HostileSiteTest, FedAvgIsMovedByIt_WhichIsWhyTheRobustStrategiesExist) {
  StartStudy("plain", "fedavg");
  for (const char* site : {"kb", "igr", "hegp", "bcn", "apr"}) {
    auto client = Client(site);
    auto task = client->PullTask();
    ASSERT_TRUE(task.ok() && task->has_task()) << site;
    v1::UploadHeader header;
    header.set_task_id(task->task().task_id());
    header.set_num_samples(std::string(site) == "apr" ? 1'000'000 : 100);
    const TensorSet update = Model(std::string(site) == "apr" ? 100.0f : 1.0f);
    ASSERT_TRUE(client->UploadResult(header, &update).ok()) << site;
  }
  auto checkpoint = coordinator_->DownloadCheckpoint("plain", "plain/c1");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_GT(protocol::ToDoubles(*checkpoint->Find("w"))[0], 99.0);
}

}  // namespace
}  // namespace scancov
