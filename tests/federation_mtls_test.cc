// End-to-end federation over real gRPC with mutual TLS on 127.0.0.1 (ephemeral port): an
// aggregator, a coordinator and three hospital nodes training a LibTorch model together, and
// every refusal the protocol promises, each in its own test, each followed by a round that
// still completes.
#include "tests/mtls_federation.h"

namespace scancov {
namespace {

using aggregator::AggregatorServer;
using aggregator::CoordinatorClient;
using mtls_testing::FederationMtlsTest;
using mtls_testing::kSites;
using mtls_testing::SyntheticSource;
using protocol::TensorSet;
using protocol::TlsFiles;

TEST_F(FederationMtlsTest, ThreeNodesTrainTwoRoundsAndTheAggregateIsFedAvgByHand) {
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("demo", 2)).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("demo");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  ASSERT_EQ(uploads_.size(), 6u);
  for (uint32_t round : {1u, 2u}) ExpectFedAvgOfUploads("demo", round, 1e-6);
  // BatchNorm buffers travelled with the parameters.
  auto final_model = coordinator_->DownloadCheckpoint("demo", "");
  ASSERT_TRUE(final_model.ok());
  bool has_running_mean = false;
  for (const auto& t : final_model->tensors()) {
    has_running_mean |= t.name.find("running_mean") != std::string::npos;
  }
  EXPECT_TRUE(has_running_mean);
  const auto& evaluation = *status->rounds().rbegin();
  EXPECT_GT(evaluation.metrics().at("global.val_auc"), 0.6);
}

// Secure aggregation over mutual TLS: the nodes upload only masked updates (int64 ring elements),
// and the aggregator's models are still the FedAvg of the updates they trained, within the
// fixed-point resolution (3 sites x 2^-25 on num_samples x update, divided by the total).
TEST_F(FederationMtlsTest, SecurelyAggregatedModelsAreTheFedAvgOfUpdatesNeverSentInClear) {
  v1::StudySpec spec = Spec("secure", 2);
  spec.set_privacy_json(
      R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 24, "max_abs_value": 1e5}})");
  ASSERT_TRUE(coordinator_->CreateStudy(spec).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("secure");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  ASSERT_EQ(uploads_.size(), 6u);
  for (uint32_t round : {1u, 2u}) ExpectFedAvgOfUploads("secure", round, 1e-5);
}

TEST_F(FederationMtlsTest, PlaintextClientIsRefused) {
  node::GrpcFederationClient plain(grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()),
                                   {absl::Seconds(5)});
  auto r = plain.Register(v1::RegisterRequest());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("after-plaintext", 1)).ok());
  RunNodes();
  EXPECT_EQ(coordinator_->GetStudyStatus("after-plaintext")->state(), v1::STUDY_STATE_DONE);
}

TEST_F(FederationMtlsTest, CertificateFromAnotherCaIsRefused) {
  auto rogue_ca = sites::CreateCertificateAuthority({"Test Consortium"});
  ASSERT_TRUE(rogue_ca.ok());
  TlsFiles rogue = Issue(*rogue_ca, sites::Role::kSite, "kb");
  rogue.ca_cert =
      dir_ + "/ca.crt";  // it trusts the real aggregator; the aggregator must not trust it
  auto client = node::GrpcFederationClient::Create(target_, rogue, "", {absl::Seconds(5)});
  ASSERT_TRUE(client.ok());
  auto r = (*client)->Register(v1::RegisterRequest());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST_F(FederationMtlsTest, ExpiredCertificateIsRefused) {
  TlsFiles expired = Issue(ca_, sites::Role::kSite, "kb", -40 * 86400, 30);
  auto client = node::GrpcFederationClient::Create(target_, expired, "", {absl::Seconds(5)});
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->Register(v1::RegisterRequest()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(FederationMtlsTest, UnregisteredSiteIsRefused) {
  TlsFiles stranger = Issue(ca_, sites::Role::kSite, "zz");
  auto client = node::GrpcFederationClient::Create(target_, stranger);
  ASSERT_TRUE(client.ok());
  v1::RegisterRequest req;
  req.set_protocol_version(v1::PROTOCOL_VERSION_1);
  auto r = (*client)->Register(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("site 'zz' is not enrolled"), std::string::npos)
      << r.status();
  EXPECT_EQ((*client)->PullTask().status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(FederationMtlsTest, SiteCallingACoordinatorRpcIsRefused) {
  auto as_site = CoordinatorClient::Create(target_, site_tls_["kb"]);
  ASSERT_TRUE(as_site.ok());
  auto r = (*as_site)->CreateStudy(Spec("hijack", 1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("coordinator certificate required"), std::string::npos);
  EXPECT_EQ((*as_site)->EnrollSite("evil", "").status().code(),
            absl::StatusCode::kPermissionDenied);
  // And the coordinator certificate cannot pose as a node.
  auto as_coordinator = node::GrpcFederationClient::Create(target_, coordinator_tls_);
  ASSERT_TRUE(as_coordinator.ok());
  EXPECT_EQ((*as_coordinator)->PullTask().status().code(), absl::StatusCode::kPermissionDenied);
}

// Pulls kb's training task of round 1 (after the initialisation) through the raw stub.
class RawUploadTest : public FederationMtlsTest {
 protected:
  v1::Task TakeTrainingTask(protocol::FederationClient* kb) {
    for (int i = 0; i < 100; ++i) {
      auto pulled = kb->PullTask();
      EXPECT_TRUE(pulled.ok()) << pulled.status();
      if (pulled.ok() && pulled->has_task()) {
        if (pulled->task().kind() == v1::TASK_KIND_TRAIN) return pulled->task();
        // Initialise the model ourselves.
        SyntheticSource source(150, 1);
        node::TrainingTaskRunner init(&source, {"kb", "cpu"});
        auto outcome = init.Run(pulled->task(), nullptr);
        EXPECT_TRUE(outcome.ok());
        v1::UploadHeader header;
        header.set_task_id(pulled->task().task_id());
        EXPECT_TRUE(kb->UploadResult(header, &*outcome->weights).ok());
      }
    }
    ADD_FAILURE() << "no training task";
    return v1::Task();
  }
};

TEST_F(RawUploadTest, CorruptedChunkIsRefusedAndTheRoundGoesOn) {
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("corrupt", 1)).ok());
  auto kb = node::GrpcFederationClient::Create(target_, site_tls_["kb"]);
  ASSERT_TRUE(kb.ok());
  const v1::Task task = TakeTrainingTask(kb->get());
  auto global = (*kb)->DownloadWeights(task.task_id(), task.checkpoint_id());
  ASSERT_TRUE(global.ok()) << global.status();

  auto channel = protocol::MakeMtlsChannel(target_, site_tls_["kb"]);
  ASSERT_TRUE(channel.ok());
  auto stub = v1::Federation::NewStub(*channel);
  grpc::ClientContext context;
  v1::UploadResponse response;
  auto writer = stub->UploadResult(&context, &response);
  v1::UploadMessage message;
  message.mutable_header()->set_task_id(task.task_id());
  message.mutable_header()->set_num_samples(10);
  message.mutable_header()->set_has_weights(true);
  writer->Write(message);
  protocol::WeightsEncoder encoder(*global, 64);
  message.Clear();
  *message.mutable_manifest() = encoder.manifest();
  writer->Write(message);
  v1::WeightsChunk chunk;
  while (encoder.Next(&chunk)) {
    if (chunk.index() == 1) (*chunk.mutable_data())[3] ^= 0x20;  // flipped in transit
    message.Clear();
    *message.mutable_chunk() = chunk;
    if (!writer->Write(message)) break;
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_NE(s.error_message().find("chunk 1: sha256 mismatch (corrupted in transit)"),
            std::string::npos)
      << s.error_message();
  // Nothing was accepted: kb still holds the task, and the whole round completes.
  auto again = (*kb)->PullTask();
  ASSERT_TRUE(again.ok() && again->has_task());
  EXPECT_EQ(again->task().task_id(), task.task_id());
  RunNodes();
  EXPECT_EQ(coordinator_->GetStudyStatus("corrupt")->state(), v1::STUDY_STATE_DONE);
}

TEST_F(RawUploadTest, UploadForATaskTheSiteWasNotGivenIsRefused) {
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("steal", 1)).ok());
  auto kb = node::GrpcFederationClient::Create(target_, site_tls_["kb"]);
  ASSERT_TRUE(kb.ok());
  const v1::Task task = TakeTrainingTask(kb->get());
  auto global = (*kb)->DownloadWeights(task.task_id(), task.checkpoint_id());
  ASSERT_TRUE(global.ok());
  auto igr = node::GrpcFederationClient::Create(target_, site_tls_["igr"]);
  ASSERT_TRUE(igr.ok());
  v1::UploadHeader header;
  header.set_task_id(task.task_id());  // kb's task, uploaded by igr
  header.set_num_samples(10);
  auto r = (*igr)->UploadResult(header, &*global);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("not given to site 'igr'"), std::string::npos);
  EXPECT_EQ((*igr)->DownloadWeights(task.task_id(), task.checkpoint_id()).status().code(),
            absl::StatusCode::kPermissionDenied);
  RunNodes();
  EXPECT_EQ(coordinator_->GetStudyStatus("steal")->state(), v1::STUDY_STATE_DONE);
}

TEST_F(FederationMtlsTest, AggregatorRestartLosesNothingAccepted) {
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("restart", 1)).ok());
  auto before = coordinator_->GetStudyStatus("restart");
  ASSERT_TRUE(before.ok());
  server_->Shutdown(absl::ZeroDuration());
  server_.reset();
  auto store = aggregator::AggregatorStore::Open(dir_ + "/aggregator.db");
  ASSERT_TRUE(store.ok());
  aggregator::FederationOptions options;
  options.studies = &aggregator::AllStudyLogics();
  options.wait = absl::Milliseconds(100);
  auto server =
      AggregatorServer::Start(target_, server_tls_,
                              testing_sites::SpooledFederation(std::move(*store), options, dir_,
                                                               protocol::AnyChunkSizeLimits()));
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  auto after = coordinator_->GetStudyStatus("restart");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->spec().name(), "restart");
  RunNodes();
  EXPECT_EQ(coordinator_->GetStudyStatus("restart")->state(), v1::STUDY_STATE_DONE);
}

}  // namespace
}  // namespace scancov
