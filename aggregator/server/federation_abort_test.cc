// Coordinator.AbortStudy: a running study ends at once, what was running stops, the abort is
// audited; an ended study, a missing reason and a site's certificate are refused.
#include <gtest/gtest.h>

#include "aggregator/server/federation_fixture.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT: the fixture's helpers

v1::AbortStudyRequest Abort(const std::string& study, const std::string& reason) {
  v1::AbortStudyRequest req;
  req.set_study_id(study);
  req.set_reason(reason);
  return req;
}

TEST_F(FederationTest, AbortEndsARunningStudyAndItsOpenTasksStopTakingResults) {
  Enroll();
  Create(Spec("t1", 3));
  // Round 0 (the initial model) closes with kb's upload; round 1 opens and igr pulls its task.
  ASSERT_FALSE(Step("kb", 1, 100).empty());
  InProcessFederationClient igr(federation_.get(), SiteCaller("igr"), 16);
  absl::StatusOr<v1::PullTaskResponse> pulled = igr.PullTask();
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  ASSERT_TRUE(pulled->has_task());
  const v1::Task task = pulled->task();
  ASSERT_EQ(task.round(), 1u);
  v1::HeartbeatRequest beat;
  beat.set_task_id(task.task_id());
  absl::StatusOr<v1::HeartbeatResponse> before = igr.Heartbeat(beat);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->task_current());

  absl::StatusOr<v1::StudyStatus> aborted =
      federation_->AbortStudy(kCoordinator, Abort("t1", "wrong outcome variable"));
  ASSERT_TRUE(aborted.ok()) << aborted.status();
  EXPECT_EQ(aborted->state(), v1::STUDY_STATE_FAILED);
  EXPECT_EQ(aborted->message(), "aborted by alice in round 1: wrong outcome variable");
  EXPECT_EQ(SiteState(*aborted, 1, "igr"), kTaskCancelled);

  // The node working on it hears so at its next heartbeat, and its result is refused.
  absl::StatusOr<v1::HeartbeatResponse> after = igr.Heartbeat(beat);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->task_current());
  v1::UploadHeader header;
  header.set_task_id(task.task_id());
  header.set_num_samples(300);
  const TensorSet update = Weights(2, -2);
  absl::StatusOr<v1::UploadResponse> up = igr.UploadResult(header, &update);
  EXPECT_FALSE(up.ok() && up->accepted()) << "a cancelled task's result was accepted";
  // No site gets a task of the study any more.
  for (const char* site : {"kb", "igr", "hegp"}) EXPECT_EQ(Step(site, 1, 100), "") << site;

  // The abort is in the audit log with who did it and why.
  absl::StatusOr<v1::ReadAuditResponse> audit =
      federation_->ReadAudit(kCoordinator, v1::ReadAuditRequest());
  ASSERT_TRUE(audit.ok());
  bool found = false;
  for (const v1::AuditEntry& e : audit->entries()) {
    if (e.action() != "study_aborted") continue;
    found = true;
    EXPECT_EQ(e.actor_id(), "alice");
    EXPECT_EQ(e.study_id(), "t1");
    EXPECT_EQ(e.detail(), "wrong outcome variable");
  }
  EXPECT_TRUE(found);

  // Once ended it cannot be aborted again; the status stays what the abort made it.
  EXPECT_EQ(federation_->AbortStudy(kCoordinator, Abort("t1", "again")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<v1::StudyStatus> status = federation_->GetStudyStatus(kCoordinator, "t1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->message(), "aborted by alice in round 1: wrong outcome variable");
}

TEST_F(FederationTest, AbortIsRefusedWithoutAReasonForAFinishedStudyAndForASite) {
  Enroll();
  Create(Spec("t1", 1));
  EXPECT_EQ(federation_->AbortStudy(kCoordinator, Abort("t1", "")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(federation_->AbortStudy(SiteCaller("kb"), Abort("t1", "mine")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(federation_->AbortStudy(kCoordinator, Abort("nope", "x")).status().code(),
            absl::StatusCode::kNotFound);
  RunToCompletion("t1");
  EXPECT_EQ(federation_->AbortStudy(kCoordinator, Abort("t1", "too late")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<v1::StudyStatus> status = federation_->GetStudyStatus(kCoordinator, "t1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_DONE);
}

}  // namespace
}  // namespace scancov::aggregator
