// A study's privacy options (StudySpec.privacy_json): checked when the study is created, before
// any site is asked, and carried by every task to the nodes, which check them again.
#include <gmock/gmock.h>

#include "absl/strings/str_format.h"
#include "aggregator/server/federation_fixture.h"
#include "gtest/gtest.h"
#include "privacy/dp/rdp_accountant.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)
using ::testing::HasSubstr;

constexpr char kSiteDp[] =
    R"({"dp": {"mode": "site", "clip_norm": 1.0, "noise_multiplier": 1.1, "delta": 1e-5}})";

absl::Status CreateWith(Federation& federation, v1::StudySpec spec, const std::string& options) {
  spec.set_privacy_json(options);
  v1::CreateStudyRequest req;
  *req.mutable_spec() = spec;
  return federation.CreateStudy(kCoordinator, req).status();
}

TEST_F(FederationTest, EveryTaskOfADpStudyCarriesItsPrivacyOptions) {
  Enroll();
  ASSERT_TRUE(CreateWith(*federation_, Spec("s1", 2), kSiteDp).ok());
  InProcessFederationClient client(federation_.get(), SiteCaller("kb"), 16);
  auto pulled = client.PullTask();
  ASSERT_TRUE(pulled.ok() && pulled->has_task()) << pulled.status();
  EXPECT_EQ(pulled->task().privacy_json(), kSiteDp);
  // The audit says what each site's releases cost at most: 2 rounds at sigma 1.1 / 2.
  v1::ReadAuditRequest audit;
  auto log = federation_->ReadAudit(kCoordinator, audit);
  ASSERT_TRUE(log.ok()) << log.status();
  bool found = false;
  for (const auto& e : log->entries()) {
    found |= e.action() == "create_study" &&
             e.detail().find("dp: each site's releases cost at most epsilon") != std::string::npos;
  }
  EXPECT_TRUE(found);
}

TEST_F(FederationTest, PrivacyOptionsThatCannotBeHonouredAreRefusedAtCreation) {
  Enroll();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "must be a JSON object"},
      {R"({"dp": {"mode": "site"}})", "clip_norm"},
      {R"({"dp": {"mode": "distributed", "clip_norm": 1, "noise_multiplier": 1, "delta": 1e-5}})",
       "\"distributed\" needs privacy.secure_aggregation"},
      {R"({"dp": {"mode": "distributed", "clip_norm": 1, "noise_multiplier": 1, "delta": 1e-5},
           "secure_aggregation": {"threshold": 2, "max_abs_value": 5}})",
       "max_abs_value 5 cannot hold a clipped update plus its noise"},
      {R"({"dp": {"mode": "dp_sgd", "clip_norm": 1, "noise_multiplier": 1, "delta": 1e-5}})",
       "sample_rate"},
      {R"({"secure_aggregation": {"threshold": 5}})", "threshold must be"},
      {R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 70}})", "fractional_bits"},
      {R"({"anonymise": true})", "unknown privacy option 'anonymise'"},
  };
  int n = 0;
  for (const auto& [options, why] : cases) {
    const absl::Status s = CreateWith(*federation_, Spec("s" + std::to_string(++n), 2), options);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << options;
    EXPECT_THAT(s.message(), HasSubstr(why)) << options;
  }
  v1::StudySpec analysis = Spec("a1", 1);
  analysis.set_kind(v1::STUDY_KIND_ANALYSIS);
  analysis.set_study_kind("cohort_description");
  const absl::Status s = CreateWith(*federation_, analysis, kSiteDp);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

constexpr char kDpSgd[] =
    R"({"dp": {"mode": "dp_sgd", "clip_norm": 1.0, "noise_multiplier": 1.1, "delta": 1e-5,
               "sample_rate": 0.05}})";

// DP-SGD is accepted for tabular_training, alone or under secure aggregation, and the audit
// states what each site's releases cost as the nodes charge it: rounds x epochs x round(1/q)
// steps of the subsampled Gaussian at q and sigma (not sigma / 2: per-example clipping).
TEST_F(FederationTest, DpSgdIsAcceptedForTabularTrainingAndCostsItsPlannedSteps) {
  Enroll();
  v1::StudySpec spec = Spec("sgd", 3);
  spec.mutable_plan()->set_local_epochs(2);
  ASSERT_TRUE(CreateWith(*federation_, spec, kDpSgd).ok());
  privacy::dp::RdpAccountant accountant;
  ASSERT_TRUE(accountant.ComposeAll({{0.05, 1.1, 3 * 2 * 20}}).ok());
  auto expected = accountant.GetEpsilon(1e-5);
  ASSERT_TRUE(expected.ok());
  const std::string cost = absl::StrFormat("cost at most epsilon %.3f", expected->epsilon);
  v1::ReadAuditRequest audit;
  auto log = federation_->ReadAudit(kCoordinator, audit);
  ASSERT_TRUE(log.ok()) << log.status();
  bool found = false;
  for (const auto& e : log->entries()) {
    found |= e.action() == "create_study" && e.detail().find(cost) != std::string::npos &&
             e.detail().find("dp_sgd: 40 steps per round at sample rate 0.05") != std::string::npos;
  }
  EXPECT_TRUE(found) << cost;
  const std::string with_secagg =
      R"({"dp": {"mode": "dp_sgd", "clip_norm": 1.0, "noise_multiplier": 1.1, "delta": 1e-5,
                 "sample_rate": 0.05}, "secure_aggregation": {"threshold": 2}})";
  EXPECT_TRUE(CreateWith(*federation_, Spec("sgd-secagg", 2), with_secagg).ok());
}

TEST_F(FederationTest, DpSgdIsRefusedForOtherKindsAndForBatchNorm) {
  Enroll();
  v1::StudySpec segmentation = Spec("seg", 2);
  segmentation.set_study_kind("segmentation");
  absl::Status s = CreateWith(*federation_, segmentation, kDpSgd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("\"dp_sgd\" runs only for tabular_training"));
  v1::StudySpec bn = Spec("bn", 2);
  bn.set_spec_json(R"({"model_config": {"hidden": [8]}})");  // batch_norm defaults to true
  s = CreateWith(*federation_, bn, kDpSgd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("without BatchNorm"));
  bn.set_name("no-bn");
  bn.set_spec_json(R"({"model_config": {"hidden": [8], "batch_norm": false}})");
  EXPECT_TRUE(CreateWith(*federation_, bn, kDpSgd).ok());
}

// Distributed DP runs only over a secure sum (fedavg, fedprox); the audit says what the releases
// cost (sigma / 2 per round, as in site mode) and on whose noise that rests.
TEST_F(FederationTest, DistributedDpNeedsASecureSumAndSaysWhatItCosts) {
  Enroll();
  constexpr char kDistributed[] =
      R"({"dp": {"mode": "distributed", "clip_norm": 1.0, "noise_multiplier": 1.1,
                 "delta": 1e-5},
          "secure_aggregation": {"threshold": 2, "max_abs_value": 100}})";
  v1::StudySpec median = Spec("m1", 2);
  median.set_strategy("median");
  const absl::Status refused = CreateWith(*federation_, median, kDistributed);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("sums the updates"));
  ASSERT_TRUE(CreateWith(*federation_, Spec("d1", 2), kDistributed).ok());
  ASSERT_TRUE(CreateWith(*federation_, Spec("p1", 2), kSiteDp).ok());
  auto log = federation_->ReadAudit(kCoordinator, v1::ReadAuditRequest());
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<std::string> details;
  for (const auto& e : log->entries()) {
    if (e.action() == "create_study") details.push_back(e.detail());
  }
  ASSERT_EQ(details.size(), 2u);
  const std::string cost = "each site's releases cost at most epsilon ";
  auto epsilon = [&](const std::string& detail) {
    const size_t at = detail.find(cost);
    return at == std::string::npos ? std::string() : detail.substr(at + cost.size(), 5);
  };
  EXPECT_FALSE(epsilon(details[0]).empty()) << details[0];
  EXPECT_EQ(epsilon(details[0]), epsilon(details[1])) << "the same charge as site mode";
  EXPECT_THAT(details[0] + details[1], HasSubstr("if at least 2 sites of every sum add theirs"));
}

}  // namespace
}  // namespace scancov::aggregator
