// A study's privacy options (StudySpec.privacy_json): checked when the study is created, before
// any site is asked, and carried by every task to the nodes, which check them again.
#include <gmock/gmock.h>

#include "aggregator/server/federation_fixture.h"
#include "gtest/gtest.h"

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
       "not available yet"},
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

}  // namespace
}  // namespace scancov::aggregator
