// Secure aggregation of exact analyses over real gRPC with mutual TLS on 127.0.0.1: three
// hospital nodes fit the federated logistic regression (Newton rounds, then terciles rounds), or
// calibrate a published model's intercept, while sending every number of their answers masked
// (protocol/wire/secure_sum.h); the aggregator learns only the sums, and the fit equals the fit
// on the pooled rows. A model selection under secure aggregation selects what the same study
// in clear selects.
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/grpc_federation_client.h"
#include "protocol/weights_codec.h"
#include "protocol/wire/intercept_calibration.h"
#include "protocol/wire/model_selection.h"
#include "sites/pki/certificate_authority.h"
#include "tests/pooled_intercept.h"
#include "tests/pooled_logistic.h"
#include "tests/test_federation.h"
#include "tests/test_pki.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using ::testing::HasSubstr;
using testing_sites::Site;

// 2^-36 per value and site: finer than half the Newton tolerance (1e-10), as CreateStudy asks;
// the information matrix's entries stay below 1e7 for these sites.
constexpr char kSecure[] =
    R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 36, "max_abs_value": 1e7}})";

class SecureAnalysisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing_sites::TestPki pki;
    pki.Init("secure_analysis_");
    dir_ = pki.dir();
    const protocol::TlsFiles server_tls = pki.Issue(sites::Role::kAggregator, "aggregator");
    const protocol::TlsFiles coordinator_tls = pki.Issue(sites::Role::kCoordinator, "alice");
    uint64_t seed = 11;
    for (const auto& [id, patients] : SiteSizes()) {
      sites_.push_back(testing_sites::MakeSite(id, seed++, patients));
    }
    for (const Site& s : sites_) site_tls_[s.id] = pki.Issue(sites::Role::kSite, s.id);

    auto store = aggregator::AggregatorStore::Open(dir_ + "/aggregator.db");
    ASSERT_TRUE(store.ok()) << store.status();
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.wait = absl::Milliseconds(100);
    options.secagg_phase_wait = absl::Seconds(2);
    auto server = aggregator::AggregatorServer::Start(
        "127.0.0.1:0", server_tls,
        testing_sites::SpooledFederation(std::move(*store), options, dir_));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    target_ = "127.0.0.1:" + std::to_string(server_->port());
    auto coordinator = aggregator::CoordinatorClient::Create(target_, coordinator_tls);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = std::move(*coordinator);
    for (const Site& s : sites_) ASSERT_TRUE(coordinator_->EnrollSite(s.id, "").ok());
  }

  // The hospitals and their patients.
  virtual std::vector<std::pair<std::string, int>> SiteSizes() const {
    return {{"kb", 800}, {"igr", 140}, {"hegp", 300}};
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::ZeroDuration());
  }

  v1::StudySpec Spec(const std::string& name, const std::string& spec_json,
                     const std::string& privacy_json) {
    v1::StudySpec spec;
    spec.set_name(name);
    spec.set_kind(v1::STUDY_KIND_ANALYSIS);
    for (const Site& s : sites_) spec.add_sites(s.id);
    spec.set_round_timeout_s(120);
    spec.set_spec_json(spec_json);
    spec.set_privacy_json(privacy_json);
    return spec;
  }
  v1::StudySpec Spec(const std::string& name, const wire::LogisticSpec& logistic,
                     const std::string& privacy_json) {
    return Spec(name, wire::ToJson(logistic), privacy_json);
  }

  // What the aggregator kept of each site's answer in every round of the study (read from its
  // database once the server is stopped): a masked answer's shape, no key but `shape_keys`
  // (no number), and no per-site count in the header. Returns the answers seen.
  int ExpectOnlyShapesStored(const v1::StudyStatus& status,
                             const std::set<std::string>& shape_keys) {
    server_->Shutdown(absl::ZeroDuration());
    server_.reset();
    auto store = aggregator::AggregatorStore::Open(dir_ + "/aggregator.db");
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return 0;
    int answers = 0;
    for (const v1::RoundStatus& round : status.rounds()) {
      auto tasks = (*store)->ListTasks(status.study_id(), round.round());
      EXPECT_TRUE(tasks.ok()) << tasks.status();
      if (!tasks.ok()) continue;
      for (const aggregator::TaskRecord& t : *tasks) {
        auto r = (*store)->GetResult(t.task_id, /*with_weights=*/false);
        EXPECT_TRUE(r.ok() && r->has_value()) << t.task_id;
        if (!r.ok() || !r->has_value()) continue;
        const nlohmann::json answer = nlohmann::json::parse((*r)->result_json);
        EXPECT_EQ(answer.value("status", ""), "ok") << answer.dump();
        EXPECT_EQ(answer.value("secure_sum", false), true) << answer.dump();
        for (const auto& [key, value] : answer.items()) {
          EXPECT_EQ(shape_keys.count(key), 1u) << key << " in " << answer.dump();
        }
        EXPECT_EQ((*r)->num_samples, 0u) << t.task_id;  // nor the site's row count
        EXPECT_TRUE((*r)->metrics.empty()) << t.task_id;
        ++answers;
      }
    }
    return answers;
  }

  // The three nodes, each on its thread, until no study includes them any more.
  void RunNodes() {
    std::vector<std::thread> threads;
    for (Site& site : sites_) {
      threads.emplace_back([this, &site] {
        node::ClinicalDatasetSource source(site.db.get());
        std::unique_ptr<node::TaskHost> host = testing_sites::MakeAnalysisHost(&source, site.id);
        auto client = node::GrpcFederationClient::Create(target_, site_tls_[site.id]);
        ASSERT_TRUE(client.ok()) << client.status();
        node::AgentOptions options;
        options.exit_when_idle = true;
        options.initial_backoff = absl::Milliseconds(50);
        options.node_version = "test";
        options.secagg = {site.id, *ReadFileToString(site_tls_[site.id].key),
                          *ReadFileToString(site_tls_[site.id].ca_cert)};
        node::NodeAgent agent(client->get(), &host->gate(), nullptr, options);
        const absl::Status s = agent.Run();
        EXPECT_TRUE(s.ok()) << site.id << ": " << s;
      });
    }
    for (std::thread& t : threads) t.join();
  }

  std::string dir_;
  std::vector<Site> sites_;
  std::map<std::string, protocol::TlsFiles> site_tls_;
  std::unique_ptr<aggregator::AggregatorServer> server_;
  std::string target_;
  std::unique_ptr<aggregator::CoordinatorClient> coordinator_;
};

TEST_F(SecureAnalysisTest, SecurelyAggregatedLogisticRegressionEqualsThePooledFit) {
  ASSERT_TRUE(
      coordinator_->CreateStudy(Spec("secure-refit", testing_sites::ScanCovRefit(), kSecure)).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("secure-refit");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  const nlohmann::json result = nlohmann::json::parse(status->rounds().rbegin()->result_json());
  ASSERT_TRUE(result.contains("fit")) << result.dump();
  const nlohmann::json& fit = result.at("fit");
  const stats::LogisticFit pooled = testing_sites::PooledFit(sites_);
  EXPECT_EQ(fit.at("n").get<int64_t>(), pooled.num_observations);
  const nlohmann::json& coefficients = fit.at("coefficients");
  ASSERT_EQ(coefficients.size(), static_cast<size_t>(pooled.coefficients.size()));
  for (size_t i = 0; i < coefficients.size(); ++i) {
    EXPECT_NEAR(coefficients[i].at("beta").get<double>(), pooled.coefficients[i], 1e-6)
        << coefficients[i].at("term");
    EXPECT_NEAR(coefficients[i].at("se").get<double>(), pooled.standard_errors[i], 1e-6)
        << coefficients[i].at("term");
  }
  // The terciles rounds ran securely too, and found the cuts.
  EXPECT_EQ(fit.at("terciles").size(), 2u) << fit.dump();
  for (const v1::RoundStatus& round : status->rounds()) {
    const nlohmann::json r = nlohmann::json::parse(round.result_json());
    EXPECT_EQ(r.at("sites"), 3) << "round " << round.round();
  }

  // What the aggregator kept of each site's answer: its shape, no number.
  const int answers =
      ExpectOnlyShapesStored(*status, {"analysis", "status", "secure_sum", "split", "phase"});
  EXPECT_EQ(answers, 3 * status->rounds_size());
}

// The published ScanCov model's intercept calibrated under secure aggregation: every round's
// score, information and log-likelihood travel masked; the calibration equals the pooled one.
TEST_F(SecureAnalysisTest, SecurelyAggregatedInterceptCalibrationEqualsThePooledCalibration) {
  wire::InterceptSpec calibration;
  calibration.outcome = "severe";
  calibration.model = "scancov_paper";
  ASSERT_TRUE(
      coordinator_->CreateStudy(Spec("secure-intercept", wire::ToJson(calibration), kSecure)).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("secure-intercept");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  absl::StatusOr<wire::InterceptRoundResult> result =
      wire::ParseInterceptRoundResult(status->rounds().rbegin()->result_json());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->fit.has_value());
  EXPECT_TRUE(result->refused.empty());
  const scores::InterceptCalibration pooled =
      testing_sites::PooledInterceptCalibration(sites_, "severe");
  EXPECT_EQ(result->fit->num_observations, pooled.num_observations);
  EXPECT_EQ(result->fit->num_events, pooled.num_events);
  EXPECT_NEAR(result->fit->intercept, pooled.intercept, 1e-6);
  EXPECT_NEAR(result->fit->standard_error, pooled.standard_error, 1e-6);
  EXPECT_GE(status->rounds_size(), 2);  // Newton steps, each round secure

  // What the aggregator kept of each site's answer: {"status": "ok", "secure_sum": true}.
  const int answers = ExpectOnlyShapesStored(*status, {"status", "secure_sum"});
  EXPECT_EQ(answers, 3 * status->rounds_size());
}

// The model selection (sums, squares, then batches of Newton fits of every candidate x penalty
// x fold) with every answer masked: 2^-28 per value and site, as CreateStudy asks for the fits'
// tolerance 1e-8; the sums of squares stay below 1e7 for these sites.
constexpr char kSelectionSecure[] =
    R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 28, "max_abs_value": 1e7}})";

std::string SelectionSpec() {
  wire::SelectionSpec spec;
  spec.outcome = "severe";
  spec.variables = {"age", "sex", "spo2", "cough", "headache"};
  spec.options.penalty_grid = {0.01, 1};
  spec.options.num_folds = 3;
  spec.options.seed = 3;
  return wire::ToJson(spec);
}

// The same selection in clear and under secure aggregation, run side by side by the same nodes:
// the same steps, penalty and variables; the final coefficients and intercept to 1e-6 (the
// result carries no standard errors), the CV AUCs to 1e-9. The aggregator's database keeps of
// every site's answer its kind and the variables it treats as missing, no number.
TEST_F(SecureAnalysisTest, SecurelyAggregatedModelSelectionSelectsWhatThePlainOneSelects) {
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("plain-selection", SelectionSpec(), "")).ok());
  ASSERT_TRUE(
      coordinator_->CreateStudy(Spec("secure-selection", SelectionSpec(), kSelectionSecure)).ok());
  RunNodes();
  auto plain = coordinator_->GetStudyStatus("plain-selection");
  auto secure = coordinator_->GetStudyStatus("secure-selection");
  ASSERT_TRUE(plain.ok() && secure.ok());
  ASSERT_EQ(plain->state(), v1::STUDY_STATE_DONE) << plain->message();
  ASSERT_EQ(secure->state(), v1::STUDY_STATE_DONE) << secure->message();
  EXPECT_EQ(secure->rounds_size(), plain->rounds_size());
  const nlohmann::json x =
      nlohmann::json::parse(plain->rounds().rbegin()->result_json()).at("selection");
  const nlohmann::json y =
      nlohmann::json::parse(secure->rounds().rbegin()->result_json()).at("selection");
  ASSERT_EQ(y.at("steps").size(), x.at("steps").size());
  ASSERT_FALSE(x.at("steps").empty());
  for (size_t i = 0; i < x.at("steps").size(); ++i) {
    EXPECT_EQ(y.at("steps")[i].at("variable"), x.at("steps")[i].at("variable"));
    EXPECT_EQ(y.at("steps")[i].at("penalty"), x.at("steps")[i].at("penalty"));
    EXPECT_NEAR(y.at("steps")[i].at("mean_cv_auc").get<double>(),
                x.at("steps")[i].at("mean_cv_auc").get<double>(), 1e-9);
  }
  EXPECT_EQ(y.at("rejected").is_null(), x.at("rejected").is_null());
  const nlohmann::json& a = x.at("final");
  const nlohmann::json& b = y.at("final");
  EXPECT_EQ(b.at("n"), a.at("n"));
  EXPECT_EQ(b.at("events"), a.at("events"));
  EXPECT_EQ(b.at("penalty"), a.at("penalty"));
  EXPECT_NEAR(b.at("intercept").get<double>(), a.at("intercept").get<double>(), 1e-6);
  ASSERT_EQ(b.at("variables").size(), a.at("variables").size());
  for (size_t j = 0; j < a.at("variables").size(); ++j) {
    const nlohmann::json& u = a.at("variables")[j];
    const nlohmann::json& v = b.at("variables")[j];
    EXPECT_EQ(v.at("name"), u.at("name"));
    EXPECT_NEAR(v.at("coefficient").get<double>(), u.at("coefficient").get<double>(), 1e-6)
        << u.at("name");
    EXPECT_NEAR(v.at("imputation_mean").get<double>(), u.at("imputation_mean").get<double>(), 1e-9);
    EXPECT_NEAR(v.at("scale").get<double>(), u.at("scale").get<double>(), 1e-9);
  }
  for (const v1::RoundStatus& round : secure->rounds()) {
    const nlohmann::json r = nlohmann::json::parse(round.result_json());
    EXPECT_EQ(r.at("sites").size(), 3u) << "round " << round.round();
  }
  const int answers =
      ExpectOnlyShapesStored(*secure, {"analysis", "status", "secure_sum", "kind", "suppressed"});
  EXPECT_EQ(answers, 3 * secure->rounds_size());
}

// A hospital too small for the study's minimum count: its refusal carries no numbers and is
// sent in clear, it takes no part in the sessions, and the others' sums make the fit.
class SecureAnalysisWithASmallSiteTest : public SecureAnalysisTest {
 protected:
  std::vector<std::pair<std::string, int>> SiteSizes() const override {
    return {{"kb", 800}, {"igr", 140}, {"tiny", 30}};
  }
};

TEST_F(SecureAnalysisWithASmallSiteTest, ASiteBelowItsMinimumRefusesInClearAndIsLeftOut) {
  wire::LogisticSpec spec = testing_sites::ScanCovRefit();
  spec.min_cell_count = 20;
  spec.terciles = false;
  ASSERT_TRUE(coordinator_->CreateStudy(Spec("secure-tiny", spec, kSecure)).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("secure-tiny");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  const nlohmann::json result = nlohmann::json::parse(status->rounds().rbegin()->result_json());
  ASSERT_EQ(result.at("refused").size(), 1u) << result.dump();
  EXPECT_EQ(result.at("refused")[0].at("site"), "tiny");
  EXPECT_EQ(result.at("sites"), 2);
  std::vector<Site> summed;
  summed.push_back(std::move(sites_[0]));
  summed.push_back(std::move(sites_[1]));
  const stats::LogisticFit pooled = testing_sites::PooledFit(summed);
  const nlohmann::json& coefficients = result.at("fit").at("coefficients");
  ASSERT_EQ(coefficients.size(), static_cast<size_t>(pooled.coefficients.size()));
  for (size_t i = 0; i < coefficients.size(); ++i) {
    EXPECT_NEAR(coefficients[i].at("beta").get<double>(), pooled.coefficients[i], 1e-6)
        << coefficients[i].at("term");
  }
}

TEST_F(SecureAnalysisTest, AStudyTheSumsCannotServeIsRefusedAtCreation) {
  // Too coarse a fixed point for the Newton tolerance.
  auto coarse = coordinator_->CreateStudy(
      Spec("coarse", testing_sites::ScanCovRefit(),
           R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 20}})"));
  EXPECT_EQ(coarse.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(coarse.status().message(), HasSubstr("fractional_bits must be at least 35"));
  wire::InterceptSpec calibration;
  calibration.outcome = "severe";
  calibration.model = "scancov_paper";
  auto coarse_intercept = coordinator_->CreateStudy(
      Spec("coarse-intercept", wire::ToJson(calibration),
           R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 30}})"));
  EXPECT_EQ(coarse_intercept.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(coarse_intercept.status().message(),
              HasSubstr("at least 35 for this intercept calibration"));
  // A model selection: the fits' Newton steps stop at 1e-8; and one value up to 1.2e10 at 2^-28
  // fits the ring, but the sum of three sites' could overflow it.
  auto coarse_selection = coordinator_->CreateStudy(
      Spec("coarse-selection", SelectionSpec(),
           R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 27}})"));
  EXPECT_EQ(coarse_selection.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(coarse_selection.status().message(),
              HasSubstr("at least 28 for this model selection"));
  auto overflowing_selection = coordinator_->CreateStudy(Spec(
      "overflowing-selection", SelectionSpec(),
      R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 28, "max_abs_value": 1.2e10}})"));
  EXPECT_EQ(overflowing_selection.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(overflowing_selection.status().message()),
              HasSubstr("could overflow 2^63"));
  // An analysis whose answers are not sums.
  v1::StudySpec evaluation = Spec("evaluation", testing_sites::ScanCovRefit(), kSecure);
  evaluation.set_spec_json(R"({"analysis": "model_evaluation", "model": "scancov"})");
  auto refused = coordinator_->CreateStudy(evaluation);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("not 'model_evaluation'"));
}

}  // namespace
}  // namespace scancov
