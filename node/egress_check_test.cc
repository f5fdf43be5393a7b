// The steward's audit of the egress ledger finds what the disclosure rules forbid and nothing
// else.
#include "node/egress_check.h"

#include <gtest/gtest.h>

#include "privacy/release_policy.h"
#include "protocol/failure_code.h"

namespace scancov::node {
namespace {

privacy::EgressEntry Entry(int64_t id, const std::string& kind, const std::string& summary) {
  privacy::EgressEntry e;
  e.id = id;
  e.task_id = "s/r" + std::to_string(id) + "/kb";
  e.kind = kind;
  e.summary_json = summary;
  return e;
}

TEST(EgressCheckTest, CountsBelowTheMinimumAndFreeTextAreFound) {
  const std::vector<privacy::EgressEntry> entries = {
      // Honest: counts 0 or >= 10, a withheld flag, names and codes.
      Entry(1, "result", R"({"num_samples": 120, "metrics": {"global.n_val": 30,
          "local.n_val_withheld": 1}, "result": {"models": [{"name": "clinical at kb",
          "high_risk": {"tp": 12, "fp": 0, "tn": 40, "fn": 10}, "status": "ok",
          "withheld": {"survival": "below_min_cell"}}]}})"),
      Entry(2, "failure", R"({"failure": "cohort_difference min=10"})"),
      // A confusion cell of 1, an at-risk count of 3, a metric count of 2.
      Entry(3, "result", R"({"num_samples": 50, "metrics": {"global.n_val": 2},
          "result": {"high_risk": {"tp": 1, "fp": 20, "tn": 19, "fn": 10},
          "groups": [{"counts": {"at_risk": [40, 3, 0]}}]}})"),
      // Free text in a failure and in a result.
      Entry(4, "failure", R"({"failure": "INVALID_ARGUMENT: patient 12 has crp=312"})"),
      Entry(
          5, "result",
          R"({"num_samples": 40, "reason": "the patient admitted on the 3rd had a value of 312 mg/l"})"),
      // A kind's refusal sentence with the minimum only: counted, not a finding.
      Entry(6, "result", R"({"num_samples": 0, "reason": "fewer than 10 events or non-events"})"),
      // A library's message quoting a number computed from the data: free text.
      Entry(7, "result", R"j({"num_samples": 90, "terms": [{"reason":
          "rank deficient (smallest scaled eigenvalue 4.95707e-11)"}]})j"),
  };
  const EgressCheck check = CheckEgress(entries, 10);
  EXPECT_EQ(check.entries, 7);
  EXPECT_EQ(check.results, 5);
  EXPECT_EQ(check.template_reasons, 1);
  EXPECT_EQ(check.failures, 2);
  std::vector<std::string> where;
  for (const EgressFinding& f : check.findings) where.push_back(f.where + ": " + f.what);
  EXPECT_EQ(where, (std::vector<std::string>{
                       "metrics.global.n_val: count 2 below the minimum 10",
                       "result.groups[0].counts.at_risk[1]: count 3 below the minimum 10",
                       "result.high_risk.tp: count 1 below the minimum 10",
                       "failure: not a failure code",
                       "reason: free text",
                       "terms[0].reason: free text",
                   }));
  EXPECT_GT(check.counts_checked, 10);
  const std::string text = EgressCheckText(check, 10);
  EXPECT_NE(text.find("6 finding(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("#3 task=s/r3/kb result.high_risk.tp"), std::string::npos) << text;
}

TEST(EgressCheckTest, AnHonestLedgerHasNoFinding) {
  const EgressCheck check =
      CheckEgress({Entry(1, "result", R"({"num_samples": 0, "metrics": {}, "result": {"n": 0}})"),
                   Entry(2, "failure", R"({"failure": "not_approved"})")},
                  10);
  EXPECT_TRUE(check.findings.empty());
  EXPECT_EQ(EgressCheckText(check, 10),
            "2 entries (1 results, 1 failures, 0 heartbeat summaries, 0 registrations, 0 decision "
            "reports), 2 counts checked against the minimum 10, 0 refusal sentences with no number "
            "but the minimum: "
            "no finding\n");
}

// The reason a kind gives for a count it keeps back is a failure report (a code and the policy's
// number), which the check accepts as a name, not a sentence.
TEST(EgressCheckTest, TheBelowMinimumReasonIsACode) {
  EXPECT_EQ(privacy::BelowMinimumReason(10), "below_minimum_count min=10");
  EXPECT_TRUE(protocol::IsFailureReport(privacy::BelowMinimumReason(10)));
  const EgressCheck check = CheckEgress({Entry(1, "result",
                                               R"({"terms": [{"status": "refused", "reason": ")" +
                                                   privacy::BelowMinimumReason(10) + R"("}]})")},
                                        10);
  EXPECT_TRUE(check.findings.empty());
  EXPECT_EQ(check.template_reasons, 0);
}

// The node's own messages: a heartbeat summary's beat count (3, below the minimum) is not a
// patient count; an unknown field or an overlong stage in them is a finding.
TEST(EgressCheckTest, HeartbeatsAndRegistrationsCarryTheirKnownFieldsOnly) {
  const std::string beats = R"({"fields": ["task_id", "stage", "progress"], "interval_s": 30,
      "beats": 3, "errors": 0, "bytes": 120, "first_unix": 1, "last_unix": 61,
      "stages": ["training", "training epoch 2/5, ETA 3m"], "stages_not_listed": 0,
      "progress": [0, 0.2], "progress_not_listed": 0})";
  const std::string registration =
      R"({"protocol_version": "PROTOCOL_VERSION_2", "node_version": "0.4.0", "device": "cpu"})";
  EgressCheck honest =
      CheckEgress({Entry(1, "register", registration), Entry(2, "heartbeat", beats)}, 10);
  EXPECT_TRUE(honest.findings.empty()) << honest.findings[0].where;
  EXPECT_EQ(honest.heartbeats, 1);
  EXPECT_EQ(honest.registrations, 1);
  EXPECT_NE(EgressCheckText(honest, 10).find("1 heartbeat summaries, 1 registrations"),
            std::string::npos);

  const EgressCheck check = CheckEgress(
      {Entry(1, "register", R"({"node_version": "0.4.0", "patient": "P1"})"),
       Entry(2, "heartbeat",
             R"({"beats": 1, "stages": [")" + std::string(81, 'x') + R"("], "n_rows": 3})")},
      10);
  std::vector<std::string> where;
  for (const EgressFinding& f : check.findings) where.push_back(f.where + ": " + f.what);
  EXPECT_EQ(where, (std::vector<std::string>{
                       "patient: unexpected field",
                       "n_rows: unexpected field",
                       "stages[0]: not a progress text of at most 80 characters",
                   }));
}

// A decision report carries the StudyDecision's fields; the steward's free-text reason leaves as
// typed, so a number in it is shown for the steward to check.
TEST(EgressCheckTest, DecisionReportsCarryTheirFieldsAndANumberInTheReasonIsShown) {
  const std::string denied = R"({"study_id": "cohort", "spec_sha256": "ab", "state":
      "DECISION_STATE_DENIED", "decided_by": "steward", "reason": "outside our ethics approval",
      "decided_unix": "1700000000"})";
  const EgressCheck honest = CheckEgress({Entry(1, "decision", denied)}, 10);
  EXPECT_TRUE(honest.findings.empty());
  EXPECT_EQ(honest.decisions, 1);
  EXPECT_NE(EgressCheckText(honest, 10).find("1 decision reports"), std::string::npos);

  const EgressCheck check = CheckEgress(
      {Entry(1, "decision", R"({"study_id": "c", "reason": "only 3 patients with cancer"})"),
       Entry(2, "decision", R"({"study_id": "c", "reason": "", "site_rows": 120})")},
      10);
  std::vector<std::string> where;
  for (const EgressFinding& f : check.findings) where.push_back(f.where + ": " + f.what);
  EXPECT_EQ(where, (std::vector<std::string>{
                       "reason: the steward's reason holds a number: check it is not a count",
                       "site_rows: unexpected field",
                   }));
}

}  // namespace
}  // namespace scancov::node
