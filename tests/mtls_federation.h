// The fixture of the end-to-end tests over real gRPC with mutual TLS on 127.0.0.1 (ephemeral
// port): a consortium CA, an aggregator, a coordinator and three hospital nodes (kb, igr, hegp)
// training a LibTorch model together on synthetic admission rows, every update recorded as its
// node produced it.
#ifndef SCANCOV_TESTS_MTLS_FEDERATION_H_
#define SCANCOV_TESTS_MTLS_FEDERATION_H_

#include <filesystem>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/gate.h"
#include "node/grpc_federation_client.h"
#include "node/tasks/registry.h"
#include "node/tasks/training_runner.h"
#include "protocol/weights_codec.h"
#include "sites/pki/certificate_authority.h"
#include "tests/test_federation.h"
#include "tests/test_pki.h"

namespace scancov::mtls_testing {

using aggregator::AggregatorServer;
using aggregator::CoordinatorClient;
using protocol::TensorSet;
using protocol::TlsFiles;

const std::vector<std::string> kSites = {"kb", "igr", "hegp"};

// Synthetic admission rows: severe ~ logistic(age, spo2, crp); sizes differ per site.
class SyntheticSource : public node::DatasetSource {
 public:
  SyntheticSource(int n, uint64_t seed) {
    Random rng(seed);
    rows_.columns = {"age", "spo2", "crp"};
    for (int i = 0; i < n; ++i) {
      const double age = rng.Normal(62, 14), spo2 = std::min(100.0, rng.Normal(93, 4));
      const double crp = std::exp(rng.Normal(4, 0.8));
      const double logit = -1 + 0.04 * (age - 62) - 0.25 * (spo2 - 93) + 0.6 * (std::log(crp) - 4);
      rows_.keys.push_back(ToHex(Sha256Digest(std::to_string(seed) + "/" + std::to_string(i))));
      rows_.x.insert(rows_.x.end(), {age, spo2, crp});
      rows_.y.push_back(rng.Uniform() < 1 / (1 + std::exp(-logit)) ? 1 : 0);
    }
  }
  absl::StatusOr<node::TabularRows> Load(const std::vector<std::string>& variables,
                                         const std::string& outcome) override {
    if (variables != rows_.columns) return absl::InvalidArgumentError("unexpected variables");
    return rows_;
  }

 private:
  node::TabularRows rows_;
};

// Remembers every outcome a node uploads, to recompute FedAvg by hand.
struct Upload {
  std::string site;
  uint32_t round;
  uint64_t num_samples;
  TensorSet weights;
  std::string global_sha256;  // the model the node trained from (WeightsDigestHex)
};

// Wraps a node's tabular training plug-in and records every update it produces.
class RecordingPlugin : public node::TaskPlugin {
 public:
  RecordingPlugin(std::unique_ptr<node::TaskPlugin> inner, std::string site, absl::Mutex* mu,
                  std::vector<Upload>* uploads)
      : inner_(std::move(inner)), site_(std::move(site)), mu_(mu), uploads_(uploads) {}
  absl::StatusOr<node::TaskDeclaration> Declare(const v1::Task& task) const override {
    return inner_->Declare(task);
  }
  absl::StatusOr<node::TaskOutcome> Run(const v1::Task& task, const TensorSet* global) override {
    absl::StatusOr<node::TaskOutcome> out = inner_->Run(task, global);
    if (out.ok() && out->weights && task.kind() == v1::TASK_KIND_TRAIN) {
      absl::MutexLock lock(mu_);
      uploads_->push_back({site_, task.round(), out->num_samples, *out->weights,
                           global == nullptr ? "" : protocol::WeightsDigestHex(*global)});
    }
    return out;
  }

 private:
  std::unique_ptr<node::TaskPlugin> inner_;
  std::string site_;
  absl::Mutex* mu_;
  std::vector<Upload>* uploads_;
};

class FederationMtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing_sites::TestPki pki;
    pki.Init("mtls_");
    dir_ = pki.dir();
    ca_ = pki.ca();
    server_tls_ = Issue(ca_, sites::Role::kAggregator, "aggregator");
    coordinator_tls_ = Issue(ca_, sites::Role::kCoordinator, "alice");
    for (const std::string& s : kSites) site_tls_[s] = Issue(ca_, sites::Role::kSite, s);

    auto store = aggregator::AggregatorStore::Open(dir_ + "/aggregator.db");
    ASSERT_TRUE(store.ok());
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.wait = absl::Milliseconds(100);
    auto server =
        AggregatorServer::Start("127.0.0.1:0", server_tls_,
                                // Any chunk size: the raw-upload tests send 64-byte chunks.
                                testing_sites::SpooledFederation(std::move(*store), options, dir_,
                                                                 protocol::AnyChunkSizeLimits()));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    target_ = "127.0.0.1:" + std::to_string(server_->port());
    auto coordinator = CoordinatorClient::Create(target_, coordinator_tls_);
    ASSERT_TRUE(coordinator.ok());
    coordinator_ = std::move(*coordinator);
    for (const std::string& s : kSites) ASSERT_TRUE(coordinator_->EnrollSite(s, "").ok());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::ZeroDuration());
  }

  TlsFiles Issue(const sites::CertificateAndKey& ca, sites::Role role, const std::string& id,
                 int64_t not_before_offset_s = 0, int valid_days = 30) {
    sites::IssueOptions options;
    options.role = role;
    options.id = id;
    options.valid_days = valid_days;
    options.not_before_offset_s = not_before_offset_s;
    auto issued = sites::IssueCertificate(ca, options);
    EXPECT_TRUE(issued.ok()) << issued.status();
    static int counter = 0;
    const std::string base = dir_ + "/" + id + "_" + std::to_string(counter++);
    EXPECT_TRUE(WriteFileAtomic(base + ".crt", issued->certificate_pem).ok());
    EXPECT_TRUE(WriteFileAtomic(base + ".key", issued->private_key_pem).ok());
    return {dir_ + "/ca.crt", base + ".crt", base + ".key"};
  }

  v1::StudySpec Spec(const std::string& name, uint32_t rounds) {
    v1::StudySpec spec;
    spec.set_name(name);
    spec.set_kind(v1::STUDY_KIND_TRAINING);
    for (const std::string& s : kSites) spec.add_sites(s);
    spec.set_rounds(rounds);
    spec.set_round_timeout_s(120);
    spec.mutable_plan()->set_model("severity_mlp");
    spec.mutable_plan()->set_local_epochs(2);
    spec.mutable_plan()->set_batch_size(32);
    spec.mutable_plan()->set_learning_rate(0.01);
    spec.mutable_plan()->set_seed(7);
    spec.set_spec_json(R"({"features": [{"name": "age", "center": 62, "scale": 14},
        {"name": "spo2", "center": 93, "scale": 4},
        {"name": "crp", "transform": "log", "center": 4, "scale": 0.8}],
        "outcome": "severe", "validation_fraction": 0.25,
        "model_config": {"hidden": [8], "dropout": 0.0}})");
    return spec;
  }

  // Runs the three nodes as threads until no study includes them any more.
  void RunNodes() {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < kSites.size(); ++i) {
      threads.emplace_back([this, i] {
        const std::string& site = kSites[i];
        SyntheticSource source(150 + 100 * static_cast<int>(i), 100 + i);
        node::GatedDatasetSource gated(&source);
        node::NodeContext context;
        context.site_id = site;
        context.device = "cpu";
        context.tabular = &gated;
        node::TaskPlugins plugins = node::MakeTorchTasks(context);
        const auto kind = protocol::StudyKind::tabular_training;
        plugins[kind] = std::make_unique<RecordingPlugin>(std::move(plugins[kind]), site,
                                                          &uploads_mu_, &uploads_);
        node::GateOptions gate_options;
        gate_options.tabular = &gated;
        node::TaskGate gate(gate_options, std::move(plugins), nullptr);
        auto client = node::GrpcFederationClient::Create(target_, site_tls_[site]);
        ASSERT_TRUE(client.ok()) << client.status();
        node::AgentOptions options;
        options.exit_when_idle = true;
        options.initial_backoff = absl::Milliseconds(50);
        options.node_version = "test";
        // The site's identity for secure aggregation: its TLS key and the consortium CA.
        options.secagg = {site, *ReadFileToString(site_tls_[site].key),
                          *ReadFileToString(site_tls_[site].ca_cert)};
        node::NodeAgent agent(client->get(), &gate, nullptr, options);
        absl::Status s = agent.Run();
        EXPECT_TRUE(s.ok()) << site << ": " << s;
      });
    }
    for (std::thread& t : threads) t.join();
  }

  // The study's model of `round` is the FedAvg of the three sites' trained weights of that round
  // (as their plug-ins produced them, before anything left the node), to `tolerance`.
  void ExpectFedAvgOfUploads(const std::string& study, uint32_t round, double tolerance) {
    std::vector<const Upload*> these;
    for (const Upload& u : uploads_) {
      if (u.round == round) these.push_back(&u);
    }
    ASSERT_EQ(these.size(), 3u);
    auto checkpoint = coordinator_->DownloadCheckpoint(study, study + "/c" + std::to_string(round));
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    double total = 0;
    for (const Upload* u : these) total += static_cast<double>(u->num_samples);
    for (const protocol::Tensor& t : checkpoint->tensors()) {
      const std::vector<double> got = protocol::ToDoubles(t);
      std::vector<double> want(got.size(), 0.0);
      for (const Upload* u : these) {
        const std::vector<double> w = protocol::ToDoubles(*u->weights.Find(t.name));
        for (size_t k = 0; k < w.size(); ++k) want[k] += u->num_samples / total * w[k];
      }
      for (size_t k = 0; k < got.size(); ++k) {
        if (t.dtype == protocol::DType::kInt64) want[k] = std::llround(want[k]);
        ASSERT_NEAR(got[k], want[k], tolerance) << t.name << "[" << k << "] round " << round;
      }
    }
  }

  std::string dir_;
  sites::CertificateAndKey ca_;
  TlsFiles server_tls_, coordinator_tls_;
  std::map<std::string, TlsFiles> site_tls_;
  std::unique_ptr<AggregatorServer> server_;
  std::string target_;
  std::unique_ptr<CoordinatorClient> coordinator_;
  absl::Mutex uploads_mu_;
  std::vector<Upload> uploads_;
};

}  // namespace scancov::mtls_testing

#endif  // SCANCOV_TESTS_MTLS_FEDERATION_H_
