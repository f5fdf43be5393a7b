// A site decides what it runs: three hospitals behind their gates, one pre-approving by rule, one
// approving by its steward's command, one denying with a reason the coordinator reads; nothing
// of a study runs at a site before it is approved there. And the aggregator's audit log records
// every action with the certificate's identity, verifiably; a disabled coordinator is refused.
#include <sstream>

#include "aggregator/coordinator/audit_command.h"
#include "node/approval_commands.h"
#include "node/approvals.h"
#include "protocol/audit.h"
#include "protocol/wire/cohort_description.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using testing_sites::Site;

const aggregator::Caller kAlice{aggregator::Caller::Role::kCoordinator, "alice"};

constexpr char kCohortSpec[] = R"({"analysis": "cohort_description", "outcome": "severe",
    "variables": ["age", "sex"], "quantiles": false})";

// A node as scancov-node runs it: gate, approvals, ledger, all in the site's own store.
struct Node {
  Node(aggregator::Federation& federation, FakeClock& clock, Site& site,
       std::vector<sites::ApprovalRule> rules)
      : source(site.db.get()), client(&federation, {aggregator::Caller::Role::kSite, site.id}) {
    approvals = std::make_unique<node::ApprovalBook>(site.db.get());
    ledger = std::make_unique<privacy::EgressLedger>(site.db->db());
    node::NodeResources r;
    r.context.site_id = site.id;
    r.context.tabular = &source;
    r.clock = &clock;
    r.ledger = ledger.get();
    r.approvals = approvals.get();
    r.approval_rules = std::move(rules);
    host = std::make_unique<node::TaskHost>(
        r, std::initializer_list<node::TaskPluginMaker>{&node::MakePlainTasks});
    node::AgentOptions options;
    options.clock = &clock;
    agent = std::make_unique<node::NodeAgent>(&client, &host->gate(), nullptr, options);
  }
  node::ClinicalDatasetSource source;
  aggregator::InProcessFederationClient client;
  std::unique_ptr<node::ApprovalBook> approvals;
  std::unique_ptr<privacy::EgressLedger> ledger;
  std::unique_ptr<node::TaskHost> host;
  std::unique_ptr<node::NodeAgent> agent;
};

class GovernanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    federation_ = testing_sites::InMemoryFederation(clock_);
    sites_.push_back(testing_sites::MakeSite("kb", 1, 200));
    sites_.push_back(testing_sites::MakeSite("igr", 2, 150));
    sites_.push_back(testing_sites::MakeSite("hegp", 3, 150));
    for (const Site& s : sites_) {
      v1::EnrollSiteRequest req;
      req.set_site_id(s.id);
      ASSERT_TRUE(federation_->EnrollSite(kAlice, req).ok());
    }
    sites::ApprovalRule rule;
    rule.name = "tables";
    rule.kinds = {"cohort_description"};
    rule.variables = {"age", "sex"};
    rule.outcomes = {"severe"};
    nodes_.push_back(std::make_unique<Node>(*federation_, clock_, sites_[0],
                                            std::vector<sites::ApprovalRule>{rule}));
    nodes_.push_back(std::make_unique<Node>(*federation_, clock_, sites_[1],
                                            std::vector<sites::ApprovalRule>{}));
    nodes_.push_back(std::make_unique<Node>(*federation_, clock_, sites_[2],
                                            std::vector<sites::ApprovalRule>{}));
  }

  absl::Status Create(const std::string& name, uint32_t min_sites,
                      const std::string& spec_json = kCohortSpec) {
    v1::CreateStudyRequest req;
    req.mutable_spec()->set_name(name);
    req.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
    for (const Site& s : sites_) req.mutable_spec()->add_sites(s.id);
    req.mutable_spec()->set_min_sites(min_sites);
    req.mutable_spec()->set_spec_json(spec_json);
    return federation_->CreateStudy(kAlice, req).status();
  }

  void Steps(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& node : nodes_) ASSERT_TRUE(node->agent->RunOnce().ok());
    }
  }

  v1::StudyStatus Status(const std::string& study) {
    return *federation_->GetStudyStatus(kAlice, study);
  }

  FakeClock clock_;
  std::unique_ptr<aggregator::Federation> federation_;
  std::vector<Site> sites_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(GovernanceTest, RuleCommandAndDenialAndTheCoordinatorSeesEachDecision) {
  ASSERT_TRUE(Create("cohort", /*min_sites=*/2).ok());
  Steps(4);
  // kb's rule approved it and kb ran it; igr and hegp only asked their stewards.
  v1::StudyStatus status = Status("cohort");
  EXPECT_EQ(status.state(), v1::STUDY_STATE_RUNNING);
  std::map<std::string, v1::DecisionState> decided;
  for (const v1::SiteDecision& d : status.decisions()) decided[d.site_id()] = d.decision().state();
  EXPECT_EQ(decided["kb"], v1::DECISION_STATE_APPROVED);
  EXPECT_EQ(decided["igr"], v1::DECISION_STATE_PENDING);
  EXPECT_EQ(decided["hegp"], v1::DECISION_STATE_PENDING);
  // Nothing ran at igr and hegp: what left them is the report that their stewards were asked,
  // in their ledgers as it was sent.
  for (int i : {1, 2}) {
    const absl::StatusOr<std::vector<privacy::EgressEntry>> left = nodes_[i]->ledger->List();
    ASSERT_TRUE(left.ok());
    ASSERT_EQ(left->size(), 1u);
    EXPECT_EQ((*left)[0].kind, "decision");
    EXPECT_EQ((*left)[0].state, "sent");
    EXPECT_NE((*left)[0].summary_json.find(R"("state":"DECISION_STATE_PENDING")"),
              std::string::npos)
        << (*left)[0].summary_json;
  }

  // The stewards decide with their commands (another process in production).
  std::ostringstream out;
  ASSERT_TRUE(node::PrintRequests(*nodes_[1]->approvals, true, false, out).ok());
  EXPECT_NE(out.str().find("Reads 2 variable(s): age, sex"), std::string::npos) << out.str();
  ASSERT_TRUE(node::DecideRequest(*nodes_[1]->approvals, "cohort", "", true, "", 10, out).ok());
  ASSERT_TRUE(node::DecideRequest(*nodes_[2]->approvals, "cohort", "", false,
                                  "outside our ethics approval", 10, out)
                  .ok());
  Steps(6);
  status = Status("cohort");
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  for (const v1::SiteDecision& d : status.decisions()) decided[d.site_id()] = d.decision().state();
  EXPECT_EQ(decided["igr"], v1::DECISION_STATE_APPROVED);
  EXPECT_EQ(decided["hegp"], v1::DECISION_STATE_DENIED);
  for (const v1::SiteDecision& d : status.decisions()) {
    if (d.site_id() == "hegp") EXPECT_EQ(d.decision().reason(), "outside our ethics approval");
    if (d.site_id() == "kb") EXPECT_EQ(d.decision().decided_by(), "rule:tables");
  }
  absl::StatusOr<wire::CohortTable> table =
      wire::ParseCohortTable(status.rounds().rbegin()->result_json());
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->sites, (std::vector<std::string>{"kb", "igr"}));  // hegp never ran it
  // The list bound first: a range over `*List()` would outlive its StatusOr.
  const absl::StatusOr<std::vector<privacy::EgressEntry>> hegp_ledger = nodes_[2]->ledger->List();
  ASSERT_TRUE(hegp_ledger.ok());
  bool denial_ledgered = false;
  for (const privacy::EgressEntry& e : *hegp_ledger) {
    EXPECT_NE(e.kind, "result");  // hegp released no result
    // The denial left with the steward's reason: the ledger shows it as sent.
    denial_ledgered |= e.kind == "decision" &&
                       e.summary_json.find("DECISION_STATE_DENIED") != std::string::npos &&
                       e.summary_json.find("outside our ethics approval") != std::string::npos;
  }
  EXPECT_TRUE(denial_ledgered);
}

// In a study of several rounds (the quartiles search), a site that denied it is not waited for
// in any later round: its task of each new round is failed from the start. (The study has no
// round deadline: without this, it would wait for hegp forever.)
TEST_F(GovernanceTest, LaterRoundsDoNotWaitForASiteThatDenied) {
  ASSERT_TRUE(Create("cohort-quartiles", /*min_sites=*/2,
                     R"({"analysis": "cohort_description", "outcome": "severe",
                         "variables": ["age", "sex"]})")
                  .ok());
  Steps(2);
  std::ostringstream out;
  ASSERT_TRUE(
      node::DecideRequest(*nodes_[1]->approvals, "cohort-quartiles", "", true, "", 10, out).ok());
  ASSERT_TRUE(node::DecideRequest(*nodes_[2]->approvals, "cohort-quartiles", "", false,
                                  "outside our ethics approval", 10, out)
                  .ok());
  Steps(30);
  const v1::StudyStatus status = Status("cohort-quartiles");
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  ASSERT_GT(status.rounds_size(), 1);  // counts, then quartile rounds
  for (const v1::RoundStatus& r : status.rounds()) {
    for (const v1::SiteRoundStatus& site : r.sites()) {
      if (site.site_id() == "hegp") EXPECT_EQ(site.state(), "failed") << "round " << r.round();
    }
  }
}

TEST_F(GovernanceTest, ADenialThatLeavesTooFewSitesFailsTheStudyWithTheReason) {
  ASSERT_TRUE(Create("cohort-all", /*min_sites=*/3).ok());
  Steps(3);
  std::ostringstream out;
  ASSERT_TRUE(node::DecideRequest(*nodes_[1]->approvals, "cohort-all", "", true, "", 10, out).ok());
  ASSERT_TRUE(node::DecideRequest(*nodes_[2]->approvals, "cohort-all", "", false,
                                  "not approved by our board", 10, out)
                  .ok());
  Steps(4);
  const v1::StudyStatus status = Status("cohort-all");
  EXPECT_EQ(status.state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(status.message().find("hegp: denied by the site: not approved by our board"),
            std::string::npos)
      << status.message();
}

TEST_F(GovernanceTest, TheAuditLogRecordsEveryActionAndVerifies) {
  ASSERT_TRUE(Create("cohort", 1).ok());
  std::ostringstream out;
  Steps(2);
  ASSERT_TRUE(node::DecideRequest(*nodes_[1]->approvals, "cohort", "", true, "", 10, out).ok());
  ASSERT_TRUE(node::DecideRequest(*nodes_[2]->approvals, "cohort", "", true, "", 10, out).ok());
  Steps(6);
  ASSERT_EQ(Status("cohort").state(), v1::STUDY_STATE_DONE);
  v1::ReadAuditRequest req;
  absl::StatusOr<v1::ReadAuditResponse> audit = federation_->ReadAudit(kAlice, req);
  ASSERT_TRUE(audit.ok()) << audit.status();
  const std::vector<v1::AuditEntry> entries(audit->entries().begin(), audit->entries().end());
  EXPECT_TRUE(protocol::VerifyAuditChain(entries, protocol::kAuditGenesis).ok());
  EXPECT_EQ(audit->head_hash(), entries.back().hash());
  std::map<std::string, int> actions;
  std::set<std::string> audited_tasks;
  for (const v1::AuditEntry& e : entries) {
    ++actions[e.action()];
    if (e.action() == "result_accepted") {
      EXPECT_EQ(e.actor_role(), "site");
      audited_tasks.insert(e.task_ids().begin(), e.task_ids().end());
    }
  }
  EXPECT_EQ(actions["enrol"], 3);
  EXPECT_EQ(actions["create_study"], 1);
  EXPECT_GE(actions["decision_received"], 5);  // 2 pending, 3 approved
  EXPECT_EQ(actions["result_accepted"], 3);
  EXPECT_EQ(actions["status_read"], 1);
  // The coordinator reads it page by page and verifies it on its side.
  const aggregator::AuditPageReader read = [&](int64_t after) {
    v1::ReadAuditRequest page;
    page.set_after_seq(after);
    page.set_limit(7);
    return federation_->ReadAudit(kAlice, page);
  };
  absl::StatusOr<aggregator::AuditReport> report = aggregator::ReadAndVerifyAudit(read);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries.size(), entries.size());
  const aggregator::AuditPageReader tampered = [&](int64_t after) {
    absl::StatusOr<v1::ReadAuditResponse> page = read(after);
    if (page.ok() && page->entries_size() > 2) page->mutable_entries(2)->set_actor_id("bob");
    return page;
  };
  EXPECT_EQ(aggregator::ReadAndVerifyAudit(tampered).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(aggregator::ReadAndVerifyAudit(read, std::string(64, 'f')).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(aggregator::ReadAndVerifyAudit(read, entries[3].hash()).ok());
  // Every result a site's ledger says it sent is in the audit log under the same task id.
  for (auto& node : nodes_) {
    const absl::StatusOr<std::vector<privacy::EgressEntry>> sent = node->ledger->List();
    ASSERT_TRUE(sent.ok());
    for (const privacy::EgressEntry& e : *sent) {
      if (e.kind == "result") EXPECT_TRUE(audited_tasks.count(e.task_id)) << e.task_id;
    }
  }
}

TEST_F(GovernanceTest, ADisabledCoordinatorIsRefused) {
  v1::SetIdentityEnabledRequest req;
  req.set_role("coordinator");
  req.set_id("mallory");
  req.set_enabled(false);
  req.set_reason("left the consortium");
  ASSERT_TRUE(federation_->SetIdentityEnabled(kAlice, req).ok());
  const aggregator::Caller mallory{aggregator::Caller::Role::kCoordinator, "mallory"};
  const absl::Status refused = federation_->ListSites(mallory).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("coordinator 'mallory' is disabled"), std::string::npos);
  EXPECT_TRUE(federation_->ListSites(kAlice).ok());
  req.set_enabled(true);
  ASSERT_TRUE(federation_->SetIdentityEnabled(kAlice, req).ok());
  EXPECT_TRUE(federation_->ListSites(mallory).ok());
}

}  // namespace
}  // namespace scancov
