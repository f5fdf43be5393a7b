// A dry run of CreateStudy (CreateStudyRequest.dry_run): every check a create runs, the status it
// would answer, and no trace: no study, no round, no audit entry, no logic kept for the name.
#include <gmock/gmock.h>

#include "aggregator/server/federation_fixture.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)
using ::testing::HasSubstr;

absl::StatusOr<v1::StudyStatus> CreateOrDryRun(Federation& federation, const v1::StudySpec& spec,
                                               bool dry_run) {
  v1::CreateStudyRequest req;
  *req.mutable_spec() = spec;
  req.set_dry_run(dry_run);
  return federation.CreateStudy(kCoordinator, req);
}

int64_t AuditLastSeq(Federation& federation) {
  auto log = federation.ReadAudit(kCoordinator, v1::ReadAuditRequest());
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? log->last_seq() : -1;
}

TEST_F(FederationTest, ADryRunAnswersWhatItWouldCreateAndLeavesNoTrace) {
  Enroll();
  v1::StudySpec spec = Spec("s1", 2);
  spec.set_privacy_json(
      R"({"dp": {"mode": "site", "clip_norm": 1.0, "noise_multiplier": 1.1, "delta": 1e-5}})");
  const int64_t audited = AuditLastSeq(*federation_);

  auto would = CreateOrDryRun(*federation_, spec, /*dry_run=*/true);
  ASSERT_TRUE(would.ok()) << would.status();
  EXPECT_EQ(would->study_id(), "s1");
  EXPECT_FALSE(would->spec().study_kind().empty());  // normalized as a create would
  EXPECT_EQ(would->spec().min_sites(), 3u);
  EXPECT_EQ(would->rounds_size(), 0);
  EXPECT_THAT(would->message(), HasSubstr("nothing was created"));
  EXPECT_THAT(would->message(), HasSubstr("dp: each site's releases cost at most epsilon"));

  auto studies = federation_->ListStudies(kCoordinator);
  ASSERT_TRUE(studies.ok()) << studies.status();
  EXPECT_EQ(studies->studies_size(), 0);
  EXPECT_EQ(federation_->GetStudyStatus(kCoordinator, "s1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(AuditLastSeq(*federation_), audited);  // no create_study, nothing else either

  // The real create of the same name then starts from nothing: round 0 open, its one task (the
  // initial model, built at one site) issued to no one yet.
  const v1::StudyStatus created = Create(spec);
  EXPECT_EQ(created.current_round(), 0u);
  ASSERT_EQ(created.rounds_size(), 1);
  EXPECT_EQ(created.rounds(0).state(), "open");
  ASSERT_EQ(created.rounds(0).sites_size(), 1);
  EXPECT_EQ(created.rounds(0).sites(0).state(), "pending");
  EXPECT_EQ(AuditLastSeq(*federation_), audited + 1);
  // A dry run of a study that exists says so, even with its very spec.
  auto again = CreateOrDryRun(*federation_, spec, /*dry_run=*/true);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("creating it again changes nothing"));
}

TEST_F(FederationTest, ADryRunFailsWithTheErrorACreateWouldGive) {
  Enroll();
  std::vector<std::pair<std::string, v1::StudySpec>> bad;
  v1::StudySpec unenrolled = Spec("b1", 2);
  unenrolled.add_sites("xyz");
  bad.emplace_back("unenrolled site", unenrolled);
  v1::StudySpec privacy = Spec("b2", 2);
  privacy.set_privacy_json(R"({"anonymise": true})");
  bad.emplace_back("unknown privacy option", privacy);
  v1::StudySpec kind = Spec("b3", 1);
  kind.set_kind(v1::STUDY_KIND_ANALYSIS);
  kind.set_spec_json(R"({"analysis": "horoscope"})");
  bad.emplace_back("unknown kind", kind);
  v1::StudySpec options = Spec("b4", 1);
  options.set_kind(v1::STUDY_KIND_ANALYSIS);
  options.set_spec_json(R"({"analysis": "logistic_regression", "outcome": "severe"})");
  bad.emplace_back("the kind's factory refuses its options", options);
  v1::StudySpec model = Spec("b5", 2);
  model.mutable_plan()->set_initial_model_sha256(std::string(64, 'a'));
  bad.emplace_back("no such uploaded model", model);
  const int64_t audited = AuditLastSeq(*federation_);
  for (const auto& [what, spec] : bad) {
    const absl::Status dry = CreateOrDryRun(*federation_, spec, true).status();
    const absl::Status real = CreateOrDryRun(*federation_, spec, false).status();
    EXPECT_FALSE(dry.ok()) << what;
    EXPECT_EQ(dry, real) << what;
  }
  EXPECT_EQ(AuditLastSeq(*federation_), audited);
  auto studies = federation_->ListStudies(kCoordinator);
  ASSERT_TRUE(studies.ok()) << studies.status();
  EXPECT_EQ(studies->studies_size(), 0);
}

}  // namespace
}  // namespace scancov::aggregator
