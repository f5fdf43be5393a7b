// The attack suite of issue 12, over real gRPC with mutual TLS on 127.0.0.1: a curious
// coordinator runs each attack as it would (choosing a study's settings, repeating a study with
// a small change) against nodes assembled as scancov-node assembles them (the gate, the cohort
// guard, the egress ledger). Each attack is refused or yields nothing new, with the reason as a
// code in the node's ledger; the same studies with honest settings still work.
#include "tests/disclosure_attack_fixture.h"

namespace scancov {
namespace {

using testing_attack::DisclosureAttackTest;
using testing_attack::Site;
using json = nlohmann::json;

// Attack 6 (no consent): a study kb's steward has not approved runs nothing at kb, not even a
// read of its rows; the coordinator sees kb's decision as pending, then the steward's denial
// with its reason, and the study fails without any kb result.
TEST_F(DisclosureAttackTest, AStudyTheSiteHasNotApprovedRunsNothingThere) {
  Site& kb = *sites_[0];
  node::ApprovalBook book(kb.store.get());
  node::NodeResources resources = kb.resources;
  resources.approvals = &book;  // no pre-approval rule: the steward decides
  kb.host = std::make_unique<node::TaskHost>(
      resources, std::initializer_list<node::TaskPluginMaker>{&node::MakePlainTasks});
  v1::StudySpec s;
  s.set_name("unasked");
  s.set_kind(v1::STUDY_KIND_ANALYSIS);
  s.add_sites("kb");
  s.add_sites("igr");
  s.set_spec_json(json{{"analysis", "logistic_regression"},
                       {"outcome", "severe"},
                       {"features", json::array({"age"})}}
                      .dump());
  ASSERT_TRUE(coordinator_->CreateStudy(s).ok());
  std::vector<std::unique_ptr<node::GrpcFederationClient>> clients;
  std::vector<std::unique_ptr<node::NodeAgent>> agents;
  for (auto& site : sites_) {
    auto client = node::GrpcFederationClient::Create(target_, site->tls);
    ASSERT_TRUE(client.ok()) << client.status();
    clients.push_back(std::move(*client));
    node::AgentOptions options;
    options.destination = target_;
    agents.push_back(std::make_unique<node::NodeAgent>(clients.back().get(), &site->host->gate(),
                                                       nullptr, options));
  }
  const auto steps = [&](int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& agent : agents) ASSERT_TRUE(agent->RunOnce().ok());
    }
  };
  steps(4);
  auto status = coordinator_->GetStudyStatus("unasked");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_RUNNING);
  bool pending = false;
  for (const v1::SiteDecision& d : status->decisions()) {
    pending |= d.site_id() == "kb" && d.decision().state() == v1::DECISION_STATE_PENDING;
  }
  EXPECT_TRUE(pending) << status->DebugString();
  EXPECT_TRUE(Sent("kb", "unasked").empty());  // nothing left kb
  EXPECT_FALSE(Sent("igr", "unasked").empty());
  std::ostringstream out;
  ASSERT_TRUE(node::DecideRequest(book, "unasked", "", false, "no ethics approval", 0, out).ok());
  steps(3);
  status = coordinator_->GetStudyStatus("unasked");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(status->message().find("kb: denied by the site: no ethics approval"), std::string::npos)
      << status->message();
  EXPECT_TRUE(Sent("kb", "unasked").empty());
}

// Attack 1 (differencing): the same regression with and without a variable that one kb patient
// lacks. At beta = 0 the two studies' gradients differ by that patient's x and y. kb refuses the
// second study with a code; igr, whose cohorts are the same, answers both.
TEST_F(DisclosureAttackTest, DifferencingTwoStudiesOverAVariableOnePatientLacks) {
  const v1::StudyStatus first = RunLogistic("age-spo2", json::array({"age", "spo2"}));
  ASSERT_EQ(first.state(), v1::STUDY_STATE_DONE) << first.message();
  const v1::StudyStatus second = RunLogistic("age-spo2-crp", json::array({"age", "spo2", "crp"}));
  EXPECT_EQ(second.state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(second.message().find("kb: cohort_difference min=10"), std::string::npos)
      << second.message();
  const std::vector<privacy::EgressEntry> kb = Sent("kb", "age-spo2-crp");
  ASSERT_EQ(kb.size(), 1u);  // the refusal, and nothing else
  EXPECT_EQ(kb[0].kind, "failure");
  EXPECT_EQ(kb[0].summary_json, R"({"failure":"cohort_difference min=10"})");
  EXPECT_EQ(kb[0].payload_sha256, "");  // no tensors
  // Honest: a regression on the same patients as the first study still runs.
  const v1::StudyStatus honest = RunLogistic("spo2-age", json::array({"spo2", "age"}));
  EXPECT_EQ(honest.state(), v1::STUDY_STATE_DONE) << honest.message();
}

// Attack 1 (the split): holdout sets nested for a seed the coordinator chooses. The site splits
// with its own key; two seeds give the same part, so the second study learns nothing new, and a
// fraction off the list is refused before any site is asked.
TEST_F(DisclosureAttackTest, TheCoordinatorCannotChooseTheSplit) {
  const json f = json::array({"age", "spo2"});
  const v1::StudyStatus a = RunLogistic(
      "seed-1", f, {{"split", "holdout"}, {"split_seed", 1}, {"holdout_fraction", 0.25}});
  const v1::StudyStatus b = RunLogistic(
      "seed-2", f, {{"split", "holdout"}, {"split_seed", 2}, {"holdout_fraction", 0.25}});
  ASSERT_EQ(a.state(), v1::STUDY_STATE_DONE) << a.message();
  ASSERT_EQ(b.state(), v1::STUDY_STATE_DONE) << b.message();
  ASSERT_FALSE(a.rounds().empty());
  ASSERT_FALSE(b.rounds().empty());
  const json ra = json::parse(a.rounds(0).result_json());
  const json rb = json::parse(b.rounds(0).result_json());
  EXPECT_EQ(ra.at("pooled_summary"), rb.at("pooled_summary"));  // the same patients
  v1::StudySpec off;
  off.set_name("fraction-20");
  off.set_kind(v1::STUDY_KIND_ANALYSIS);
  off.add_sites("kb");
  off.set_spec_json(json{
      {"analysis", "logistic_regression"},
      {"outcome", "severe"},
      {"features", f},
      {"split", "holdout"},
      {"holdout_fraction",
       0.2}}.dump());
  const auto refused = coordinator_->CreateStudy(off);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  // A neighbouring fraction on the list would move a few patients: the cohort guard refuses it
  // where it does (fewer than 10 patients apart), and it never leaves silently.
  const v1::StudyStatus near =
      RunLogistic("fraction-30", f, {{"split", "holdout"}, {"holdout_fraction", 0.3}});
  for (const std::string site : {"kb", "igr"}) {
    const std::vector<privacy::EgressEntry> sent = Sent(site, "fraction-30");
    ASSERT_FALSE(sent.empty()) << site;
    if (sent[0].kind == "failure") {
      EXPECT_EQ(sent[0].summary_json, R"({"failure":"cohort_difference min=10"})") << site;
    }
  }
}

// The site's failures reach the coordinator as codes, never as text that could carry a value.
TEST_F(DisclosureAttackTest, AFailureCarriesACodeNotText) {
  const v1::StudyStatus s = RunLogistic("unknown-variable", json::array({"age", "hba1c"}));
  EXPECT_EQ(s.state(), v1::STUDY_STATE_FAILED);
  EXPECT_EQ(s.message().find("hba1c"), std::string::npos) << s.message();
  for (const std::string site : {"kb", "igr"}) {
    for (const privacy::EgressEntry& e : Sent(site, "unknown-variable")) {
      EXPECT_EQ(e.summary_json.find("hba1c"), std::string::npos) << e.summary_json;
    }
  }
}

}  // namespace
}  // namespace scancov
