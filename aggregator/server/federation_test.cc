#include "aggregator/server/federation.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include "aggregator/server/federation_fixture.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "aggregator/studies/round_helpers.h"
#include "gtest/gtest.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)
using protocol::ToDoubles;

TEST_F(FederationTest, StudyRunsInitTrainAndEvaluateRounds) {
  Enroll();
  Create(Spec("s1", 2));
  RunToCompletion("s1");
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->rounds_size(), 4);  // init, train 1, train 2, evaluate
  EXPECT_EQ(status->rounds(0).checkpoint_id(), "s1/c0");
  EXPECT_EQ(status->rounds(2).checkpoint_id(), "s1/c2");
  EXPECT_TRUE(status->rounds(3).checkpoint_id().empty());
  // Per round, FedAvg by hand: w0 += (100*1 + 300*2 + 600*4)/1000 = 3.1; w1 -= 3.1.
  auto c2 = federation_->GetCheckpoint(kCoordinator, "s1", "");
  ASSERT_TRUE(c2.ok());
  EXPECT_NEAR(ToDoubles(*c2->Find("w"))[0], 6.2, 1e-5);
  EXPECT_NEAR(ToDoubles(*c2->Find("w"))[1], -6.2, 1e-5);
  // Round metrics are sample-weighted: 0.5 + (0.1*1 + 0.3*2 + 0.6*4)/100 = 0.531.
  EXPECT_NEAR(status->rounds(3).metrics().at("val_auc"), 0.531, 1e-8);  // float deltas
  ASSERT_EQ(status->rounds(3).sites_size(), 3);
}

TEST(CombineMetricsTest, SumsCountsAndWeightsValidationMetricsByValidationSize) {
  ResultRecord a, b;
  a.num_samples = 100;
  a.metrics = {{"global.val_auc", 0.8}, {"global.n_val", 10}, {"local.loss", 1.0}};
  b.num_samples = 300;
  b.metrics = {{"global.val_auc", 0.6}, {"global.n_val", 30}, {"local.loss", 2.0}};
  const Metrics m = CombineMetrics({a, b});
  EXPECT_DOUBLE_EQ(m.at("global.n_val"), 40);
  EXPECT_DOUBLE_EQ(m.at("global.val_auc"), (10 * 0.8 + 30 * 0.6) / 40);
  EXPECT_DOUBLE_EQ(m.at("local.loss"), (100 * 1.0 + 300 * 2.0) / 400);
}

TEST_F(FederationTest, PullReturnsTheSameTaskUntilItsResultIsIn) {
  Enroll();
  Create(Spec("s1", 1));
  auto first = federation_->PullTask(SiteCaller("igr"));
  ASSERT_TRUE(first.ok() && first->has_task());
  EXPECT_EQ(first->task().kind(), v1::TASK_KIND_INIT_MODEL);
  auto again = federation_->PullTask(SiteCaller("igr"));
  ASSERT_TRUE(again.ok() && again->has_task());
  EXPECT_EQ(again->task().task_id(), first->task().task_id());
  auto other = federation_->PullTask(SiteCaller("kb"));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other->has_wait());
  EXPECT_FALSE(other->wait().idle());
}

TEST_F(FederationTest, DuplicateUploadIsIdempotentAndConflictsAreRefused) {
  Enroll();
  Create(Spec("s1", 1));
  auto pulled = federation_->PullTask(SiteCaller("kb"));
  ASSERT_TRUE(pulled.ok() && pulled->has_task());
  v1::UploadHeader header;
  header.set_task_id(pulled->task().task_id());
  auto first = federation_->SubmitResult(SiteCaller("kb"), header, Weights(1, 2));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->duplicate());
  auto retry = federation_->SubmitResult(SiteCaller("kb"), header, Weights(1, 2));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate());
  auto different = federation_->SubmitResult(SiteCaller("kb"), header, Weights(9, 9));
  EXPECT_EQ(different.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(FederationTest, IdentityAndAuthorizationAreEnforced) {
  Enroll();
  Create(Spec("s1", 1));
  auto unknown = federation_->PullTask(SiteCaller("zz"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(unknown.status().message().find("not enrolled"), std::string::npos);
  v1::SetSiteEnabledRequest disable;
  disable.set_site_id("hegp");
  disable.set_enabled(false);
  ASSERT_TRUE(federation_->SetSiteEnabled(kCoordinator, disable).ok());
  EXPECT_EQ(federation_->PullTask(SiteCaller("hegp")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(federation_->ListSites(SiteCaller("kb")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(federation_->PullTask(kCoordinator).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(FederationTest, UploadForATaskNotGivenToTheSiteIsRefused) {
  Enroll();
  Create(Spec("s1", 1));
  ASSERT_EQ(Step("kb", 0, 1), "s1/r0/init");
  v1::UploadHeader header;
  header.set_task_id("s1/r1/kb");
  header.set_num_samples(10);
  auto stolen = federation_->SubmitResult(SiteCaller("igr"), header, Weights(1, 1));
  EXPECT_EQ(stolen.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(stolen.status().message().find("not given to site 'igr'"), std::string::npos);
  header.set_task_id("s1/r7/igr");
  EXPECT_EQ(federation_->SubmitResult(SiteCaller("igr"), header, Weights(1, 1)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(federation_->TaskWeights(SiteCaller("igr"), "s1/r1/kb", "").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(FederationTest, InvalidUpdatesAreRefusedAndTheRoundGoesOn) {
  Enroll();
  Create(Spec("s1", 1));
  Step("kb", 0, 1);  // init
  auto pulled = federation_->PullTask(SiteCaller("igr"));
  ASSERT_TRUE(pulled.ok() && pulled->has_task());
  v1::UploadHeader header;
  header.set_task_id(pulled->task().task_id());
  header.set_num_samples(10);
  auto nan = federation_->SubmitResult(SiteCaller("igr"), header, Weights(NAN, 1));
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(nan.status().message().find("tensor 'w' has a non-finite value"), std::string::npos)
      << nan.status();
  TensorSet wrong;
  ASSERT_TRUE(wrong.Add(protocol::MakeFloat32("w", {3}, {1, 2, 3})).ok());
  EXPECT_EQ(federation_->SubmitResult(SiteCaller("igr"), header, wrong).status().code(),
            absl::StatusCode::kInvalidArgument);
  header.set_num_samples(0);
  EXPECT_EQ(federation_->SubmitResult(SiteCaller("igr"), header, Weights(1, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The site fixes its update and the study completes.
  RunToCompletion("s1");
}

TEST_F(FederationTest, ReportedFailureClosesTheRoundWithoutTheSiteOrFailsTheStudy) {
  Enroll();
  Create(Spec("s1", 1, /*timeout=*/600, /*min_sites=*/2));
  Step("kb", 0, 1);  // init
  auto pulled = federation_->PullTask(SiteCaller("hegp"));
  ASSERT_TRUE(pulled.ok() && pulled->has_task());
  v1::UploadHeader failure;
  failure.set_task_id(pulled->task().task_id());
  failure.set_failure("invalid_spec");
  auto recorded = federation_->SubmitResult(SiteCaller("hegp"), failure, std::nullopt);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  auto again = federation_->PullTask(SiteCaller("hegp"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_task());  // not offered again
  Step("kb", 1, 100);
  Step("igr", 2, 100);
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->current_round(), 2u);  // closed without hegp, no deadline passed
  for (const v1::SiteRoundStatus& site : status->rounds(1).sites()) {
    EXPECT_EQ(site.state(), site.site_id() == "hegp" ? "failed" : "done") << site.site_id();
  }
  // A second report or a result for the failed task is refused.
  EXPECT_EQ(federation_->SubmitResult(SiteCaller("hegp"), failure, std::nullopt).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Every site needed: the study fails with the reason as soon as the others are in.
  Start(":memory:");
  Enroll();
  Create(Spec("s2", 1, /*timeout=*/600, /*min_sites=*/3));
  Step("kb", 0, 1);  // init
  auto task = federation_->PullTask(SiteCaller("igr"));
  ASSERT_TRUE(task.ok() && task->has_task());
  v1::UploadHeader f;
  f.set_task_id(task->task().task_id());
  f.set_failure("below_minimum_count min=10");
  ASSERT_TRUE(federation_->SubmitResult(SiteCaller("igr"), f, std::nullopt).ok());
  Step("kb", 1, 100);
  Step("hegp", 1, 100);
  auto s2 = federation_->GetStudyStatus(kCoordinator, "s2");
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->state(), v1::STUDY_STATE_FAILED) << s2->message();
  EXPECT_NE(s2->message().find("the task failed at igr"), std::string::npos) << s2->message();
  EXPECT_NE(s2->message().find("igr: below_minimum_count min=10"), std::string::npos)
      << s2->message();
}

// A site's failure is a code and numbers; free text (an old or hostile node quoting a value)
// is neither stored nor shown to the coordinator.
TEST_F(FederationTest, AFailureInFreeTextIsNotKept) {
  Enroll();
  Create(Spec("s1", 1, /*timeout=*/600, /*min_sites=*/3));
  Step("kb", 0, 1);  // init
  auto task = federation_->PullTask(SiteCaller("igr"));
  ASSERT_TRUE(task.ok() && task->has_task());
  v1::UploadHeader f;
  f.set_task_id(task->task().task_id());
  f.set_failure("INVALID_ARGUMENT: patient 1234 has crp=312.5");
  ASSERT_TRUE(federation_->SubmitResult(SiteCaller("igr"), f, std::nullopt).ok());
  Step("kb", 1, 100);
  Step("hegp", 1, 100);
  auto status = federation_->GetStudyStatus(kCoordinator, "s1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->message().find("312.5"), std::string::npos) << status->message();
  EXPECT_NE(status->message().find("igr: unrecognized_failure"), std::string::npos)
      << status->message();
}

TEST_F(FederationTest, SampleCountsAreCappedAndCannotGrow) {
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);
  auto claim = [&](const std::string& site, uint64_t samples) {
    auto task = federation_->PullTask(SiteCaller(site));
    EXPECT_TRUE(task.ok() && task->has_task());
    InProcessFederationClient client(federation_.get(), SiteCaller(site), 16);
    auto global = client.DownloadWeights(task->task().task_id(), task->task().checkpoint_id());
    EXPECT_TRUE(global.ok());
    v1::UploadHeader header;
    header.set_task_id(task->task().task_id());
    header.set_num_samples(samples);
    return client.UploadResult(header, &*global).status();
  };
  const absl::Status huge = claim("kb", 1'000'000'000);
  EXPECT_EQ(huge.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(huge.message().find("claims 1000000000 samples; this study accepts at most 1000000"),
            std::string::npos)
      << huge;
  ASSERT_TRUE(claim("kb", 100).ok());
  ASSERT_TRUE(claim("igr", 300).ok());
  ASSERT_TRUE(claim("hegp", 600).ok());
  const absl::Status grown = claim("kb", 101);  // round 2
  EXPECT_NE(grown.message().find("more than the 100 of its first round"), std::string::npos)
      << grown;
  EXPECT_TRUE(claim("kb", 90).ok());
}

TEST_F(FederationTest, ListSitesShowsWhoIsOnlineAndWhatTheyDo) {
  Enroll();
  Create(Spec("s1", 1));
  Step("kb", 0, 1);
  ASSERT_TRUE(federation_->PullTask(SiteCaller("kb")).ok());
  v1::HeartbeatRequest beat;
  beat.set_task_id("s1/r1/kb");
  beat.set_stage("training epoch 2/5");
  beat.set_progress(0.4);
  ASSERT_TRUE(federation_->Heartbeat(SiteCaller("kb"), beat).ok());
  beat.set_task_id("s1/r1/igr");  // not kb's task
  EXPECT_EQ(federation_->Heartbeat(SiteCaller("kb"), beat).status().code(),
            absl::StatusCode::kNotFound);
  clock_.Advance(absl::Seconds(30));
  ASSERT_TRUE(federation_->PullTask(SiteCaller("igr")).ok());
  clock_.Advance(absl::Seconds(40));
  ASSERT_TRUE(federation_->Tick().ok());
  auto sites = federation_->ListSites(kCoordinator);
  ASSERT_TRUE(sites.ok());
  std::map<std::string, v1::SiteInfo> by_id;
  for (const v1::SiteInfo& s : sites->sites()) by_id[s.site_id()] = s;
  EXPECT_FALSE(by_id["kb"].online());  // 70 s ago
  EXPECT_EQ(by_id["kb"].activity(), "task 's1/r1/kb': training epoch 2/5 (40%)");
  EXPECT_TRUE(by_id["igr"].online());
  EXPECT_FALSE(by_id["hegp"].online());
  EXPECT_EQ(by_id["hegp"].last_seen_unix(), 0);
}

TEST_F(FederationTest, RegisterHeartbeatAndServerTimeCarryTheFederationsClock) {
  Enroll();
  clock_.Advance(absl::Milliseconds(1234));  // not a whole second: milliseconds are kept
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  v1::RegisterRequest hello;
  hello.set_protocol_version(v1::PROTOCOL_VERSION_2);
  auto registered = federation_->Register(SiteCaller("kb"), hello);
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(registered->server_time_unix_ms(), now_ms);
  clock_.Advance(absl::Minutes(10));
  auto beat = federation_->Heartbeat(SiteCaller("kb"), v1::HeartbeatRequest());
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_EQ(beat->server_time_unix_ms(), now_ms + 10 * 60 * 1000);
  auto time = federation_->ServerTime(SiteCaller("kb"));
  ASSERT_TRUE(time.ok()) << time.status();
  EXPECT_EQ(time->server_time_unix_ms(), now_ms + 10 * 60 * 1000);
  // ServerTime answers enrolled sites only, and writes nothing (no audit entry).
  EXPECT_EQ(federation_->ServerTime(SiteCaller("zz")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(federation_->ServerTime(kCoordinator).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto audit_before = federation_->ReadAudit(kCoordinator, v1::ReadAuditRequest());
  ASSERT_TRUE(federation_->ServerTime(SiteCaller("kb")).ok());
  auto audit_after = federation_->ReadAudit(kCoordinator, v1::ReadAuditRequest());
  ASSERT_TRUE(audit_before.ok() && audit_after.ok());
  EXPECT_EQ(audit_after->last_seq(), audit_before->last_seq());
}

TEST_F(FederationTest, AVersionOneNodeIsServedAndAnUnknownVersionIsRefusedSayingWhatToDo) {
  Enroll();
  v1::RegisterRequest hello;
  hello.set_node_version("0.1.0");
  hello.set_protocol_version(v1::PROTOCOL_VERSION_1);
  auto old_node = federation_->Register(SiteCaller("kb"), hello);
  ASSERT_TRUE(old_node.ok()) << old_node.status();
  EXPECT_EQ(old_node->protocol_version(), v1::PROTOCOL_VERSION_1);
  hello.set_protocol_version(v1::PROTOCOL_VERSION_2);
  EXPECT_EQ(federation_->Register(SiteCaller("kb"), hello)->protocol_version(),
            v1::PROTOCOL_VERSION_2);
  hello.set_protocol_version(static_cast<v1::ProtocolVersion>(3));
  auto future = federation_->Register(SiteCaller("kb"), hello);
  EXPECT_EQ(future.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(future.status().message().find("serves versions 1 and 2: upgrade the aggregator"),
            std::string::npos)
      << future.status();
  hello.set_protocol_version(v1::PROTOCOL_VERSION_UNSPECIFIED);
  EXPECT_NE(federation_->Register(SiteCaller("kb"), hello)
                .status()
                .message()
                .find("a node older than the versioned protocol"),
            std::string::npos);
}

TEST_F(FederationTest, PullTaskLongPollsUntilATaskOpens) {
  Enroll();
  Create(Spec("s1", 1));
  ASSERT_EQ(federation_->PullTask(SiteCaller("kb"))->task().task_id(), "s1/r0/init");
  v1::PullTaskRequest poll;
  poll.set_max_wait_ms(20000);
  absl::Time answered;
  std::thread waiting([&] {  // igr waits for round 1, which opens when kb's model is in
    auto response = federation_->PullTask(SiteCaller("igr"), poll);
    answered = absl::Now();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_TRUE(response->has_task()) << response->DebugString();
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time opened = absl::Now();
  Step("kb", 0, 1);
  waiting.join();
  EXPECT_LT(answered - opened, absl::Seconds(2));
  EXPECT_GE(answered - opened, absl::ZeroDuration());
  poll.set_max_wait_ms(200);  // hegp's turn comes later: answered after the wait
  Step("hegp", 1, 100);
  const absl::Time asked = absl::Now();
  auto later = federation_->PullTask(SiteCaller("hegp"), poll);
  ASSERT_TRUE(later.ok());
  ASSERT_TRUE(later->has_wait()) << later->DebugString();
  EXPECT_GE(absl::Now() - asked, absl::Milliseconds(200));
  EXPECT_EQ(later->wait().wait_ms(), 0u);
  // A site no running study includes is answered at once (it polls at its own pace).
  v1::EnrollSiteRequest apr;
  apr.set_site_id("apr");
  ASSERT_TRUE(federation_->EnrollSite(kCoordinator, apr).ok());
  poll.set_max_wait_ms(20000);
  const absl::Time idle_asked = absl::Now();
  auto idle = federation_->PullTask(SiteCaller("apr"), poll);
  ASSERT_TRUE(idle.ok() && idle->has_wait() && idle->wait().idle()) << idle->DebugString();
  EXPECT_LT(absl::Now() - idle_asked, absl::Seconds(1));
  // Nor is a site whose own steward has yet to decide: its node reports the decision first.
  v1::StudySpec second = Spec("s2", 1);
  second.add_sites("apr");
  Create(second);
  v1::StudyDecision pending;
  pending.set_study_id("s2");
  pending.set_state(v1::DECISION_STATE_PENDING);
  ASSERT_TRUE(federation_->ReportDecision(SiteCaller("apr"), pending).ok());
  const absl::Time pending_asked = absl::Now();
  auto awaiting = federation_->PullTask(SiteCaller("apr"), poll);
  ASSERT_TRUE(awaiting.ok() && awaiting->has_wait()) << awaiting->DebugString();
  EXPECT_NE(awaiting->wait().reason().find("awaits this site's approval"), std::string::npos);
  EXPECT_LT(absl::Now() - pending_asked, absl::Seconds(1));
}

TEST_F(FederationTest, RestartResumesFromTheDatabase) {
  const std::string path = TempDb("federation_restart");
  Start(path);
  Enroll();
  Create(Spec("s1", 2));
  Step("kb", 0, 1);
  Step("kb", 1, 100);
  Step("igr", 2, 300);
  federation_.reset();
  Start(path);           // a new process
  Step("hegp", 4, 600);  // completes round 1
  RunToCompletion("s1");
  auto c2 = federation_->GetCheckpoint(kCoordinator, "s1", "");
  ASSERT_TRUE(c2.ok());
  EXPECT_NEAR(ToDoubles(*c2->Find("w"))[0], 6.2, 1e-5);
}

TEST_F(FederationTest, CreateStudyIsIdempotentByNameAndValidatesItsSpec) {
  Enroll();
  Create(Spec("s1", 2));
  Create(Spec("s1", 2));  // same intent: fine
  v1::CreateStudyRequest req;
  *req.mutable_spec() = Spec("s1", 3);
  EXPECT_EQ(federation_->CreateStudy(kCoordinator, req).status().code(),
            absl::StatusCode::kAlreadyExists);
  *req.mutable_spec() = Spec("s2", 1);
  req.mutable_spec()->add_sites("nowhere");
  EXPECT_EQ(federation_->CreateStudy(kCoordinator, req).status().code(),
            absl::StatusCode::kInvalidArgument);
  *req.mutable_spec() = Spec("Bad Name", 1);
  EXPECT_EQ(federation_->CreateStudy(kCoordinator, req).status().code(),
            absl::StatusCode::kInvalidArgument);
  *req.mutable_spec() = Spec("s3", 1);
  req.mutable_spec()->set_strategy("magic");
  EXPECT_EQ(federation_->CreateStudy(kCoordinator, req).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::aggregator
