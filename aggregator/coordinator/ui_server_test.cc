// The live page's server (ui_server.h) over HTTP on 127.0.0.1, fed by a FakeCoordinatorApi:
// who is let in (token, cookie, Host, peer), what /api/state says, and what happens when the
// aggregator goes away. The page in a real browser over a real federation: tests/ui_page_test.cc.
#include "aggregator/coordinator/ui_server.h"

#include <httplib.h>

#include "aggregator/coordinator/fake_coordinator_api.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/ui_page.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

// A FakeCoordinatorApi whose aggregator can be taken down.
class SwitchableApi : public FakeCoordinatorApi {
 public:
  bool down = false;
  absl::StatusOr<v1::ListSitesResponse> ListSites() override {
    if (down) return absl::UnavailableError("failed to connect to all addresses");
    return FakeCoordinatorApi::ListSites();
  }
};

v1::SiteInfo Site(const std::string& id, bool enabled, bool online, int64_t last_seen) {
  v1::SiteInfo s;
  s.set_site_id(id);
  s.set_display_name(id + " hospital");
  s.set_enabled(enabled);
  s.set_online(online);
  s.set_last_seen_unix(last_seen);
  s.set_activity(online ? "task 'st/r2/kb': training epoch 2/5 (40%)" : "");
  return s;
}

// A running training study in round 2 of 3 (kb done, igr issued, hegp expired in round 1),
// approved by kb, denied by igr, unanswered by hegp.
v1::StudyStatus RunningStudy() {
  v1::StudyStatus st;
  st.set_study_id("st");
  st.mutable_spec()->set_name("st");
  st.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
  st.mutable_spec()->set_study_kind("tabular_training");
  st.mutable_spec()->set_rounds(3);
  for (const char* s : {"kb", "igr", "hegp"}) st.mutable_spec()->add_sites(s);
  st.set_state(v1::STUDY_STATE_RUNNING);
  st.set_current_round(2);
  st.set_message("round 2 open");
  st.set_created_unix(1'700'000'000);
  for (auto [site, state] : {std::pair{"kb", v1::DECISION_STATE_APPROVED},
                             std::pair{"igr", v1::DECISION_STATE_DENIED}}) {
    v1::SiteDecision* d = st.add_decisions();
    d->set_site_id(site);
    d->mutable_decision()->set_state(state);
    if (state == v1::DECISION_STATE_DENIED) d->mutable_decision()->set_reason("not our cohort");
  }
  for (uint32_t r : {1u, 2u}) {
    v1::RoundStatus* round = st.add_rounds();
    round->set_round(r);
    round->set_state(r == 1 ? "closed" : "open");
    if (r == 1) (*round->mutable_metrics())["global.val_auc"] = 0.74;
    for (const char* s : {"kb", "igr", "hegp"}) {
      v1::SiteRoundStatus* site = round->add_sites();
      site->set_site_id(s);
      const std::string id = s;
      site->set_state(id == "kb" ? "done" : id == "hegp" && r == 1 ? "expired" : "issued");
      if (id == "kb") site->set_num_samples(120);
    }
  }
  return st;
}

class UiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_.sites = {Site("kb", true, true, 1'700'000'100), Site("igr", false, false, 0)};
    api_.AddStudy(RunningStudy(), /*running_polls=*/1000);
    v1::StudyStatus done;
    done.set_study_id("old");
    done.set_state(v1::STUDY_STATE_FAILED);
    done.set_message("round 1: too few results");
    done.set_created_unix(1'600'000'000);
    api_.AddStudy(done);
    Start();
  }

  void Start(AuditReader audit = nullptr) {
    server_.reset();
    UiServerOptions options;
    options.read_audit = std::move(audit);
    options.clock = &clock_;
    auto server = UiServer::Start(&api_, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  std::string Cookie() { return "scancov_ui_" + std::to_string(server_->port()) + "=" + Token(); }
  std::string Token() { return server_->token(); }
  std::string Host() { return "127.0.0.1:" + std::to_string(server_->port()); }

  httplib::Result Get(const std::string& path, httplib::Headers headers = {}) {
    if (!headers.count("Host")) headers.emplace("Host", Host());
    return client_->Get(path, headers);
  }
  json State() {
    auto res = Get("/api/state", {{"Cookie", Cookie()}});
    EXPECT_TRUE(res && res->status == 200);
    return res ? json::parse(res->body) : json();
  }

  FakeClock clock_{absl::FromUnixSeconds(1'700'000'130)};
  SwitchableApi api_;
  std::unique_ptr<UiServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(UiServerTest, TheUrlCarriesA128BitTokenAndTokensDiffer) {
  EXPECT_EQ(server_->Url(),
            "http://127.0.0.1:" + std::to_string(server_->port()) + "/?token=" + Token());
  EXPECT_EQ(Token().size(), 32u);
  EXPECT_EQ(Token().find_first_not_of("0123456789abcdef"), std::string::npos);
  auto other = NewUiToken();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, Token());
}

TEST_F(UiServerTest, EveryPathIsRefusedWithoutTheToken) {
  for (const char* path : {"/", "/api/state", "/ui.js", "/studies/st/report", "/nothing"}) {
    auto res = Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 403) << path;
    EXPECT_THAT(res->body, Not(HasSubstr("kb"))) << path;
    EXPECT_FALSE(res->has_header("Set-Cookie")) << path;
  }
}

TEST_F(UiServerTest, AWrongTokenOrCookieIsRefused) {
  std::string wrong = Token();
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  for (const std::string& t : {wrong, Token().substr(0, 31), Token() + "0", std::string()}) {
    auto res = Get("/api/state?token=" + t);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << t;
    EXPECT_FALSE(res->has_header("Set-Cookie")) << t;
  }
  const std::string name = "scancov_ui_" + std::to_string(server_->port());
  for (const std::string& cookie : {name + "=" + wrong, "scancov_ui_1=" + Token(), name + "="}) {
    auto res = Get("/api/state", {{"Cookie", cookie}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << cookie;
  }
}

TEST_F(UiServerTest, TheTokenSetsAStrictHttpOnlyCookieThatOpensThePage) {
  auto first = Get("/?token=" + Token());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 303);  // to "/", the token out of the address bar
  EXPECT_EQ(first->get_header_value("Location"), "/");
  const std::string set_cookie = first->get_header_value("Set-Cookie");
  EXPECT_THAT(set_cookie, HasSubstr(Cookie() + ";"));
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));

  auto page = Get("/", {{"Cookie", "other=1; " + Cookie()}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, UiPageHtml());
  EXPECT_THAT(page->get_header_value("Content-Security-Policy"), HasSubstr("script-src 'self'"));
  auto script = Get("/ui.js", {{"Cookie", Cookie()}});
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_THAT(script->body, HasSubstr("/api/state"));
  // A query token works without a cookie too (e.g. curl).
  auto api = Get("/api/state?token=" + Token());
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
}

TEST_F(UiServerTest, AnotherHostHeaderIsRefusedEvenWithTheToken) {
  const std::string port = std::to_string(server_->port());
  for (const std::string& host : std::vector<std::string>{
           "evil.example:" + port, "127.0.0.1:1" + port, "127.0.0.1", "localhost.evil:" + port}) {
    auto res = Get("/api/state?token=" + Token(), {{"Host", host}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << host;
    EXPECT_THAT(res->body, HasSubstr("Host")) << host;
  }
  auto local = Get("/api/state", {{"Host", "localhost:" + port}, {"Cookie", Cookie()}});
  ASSERT_TRUE(local);
  EXPECT_EQ(local->status, 200);
}

TEST_F(UiServerTest, StateHasSitesStudiesRoundsApprovalsAndFailures) {
  const json state = State();
  ASSERT_TRUE(state["aggregator"]["ok"].get<bool>());
  EXPECT_EQ(state["now_unix"], 1'700'000'130);
  ASSERT_EQ(state["sites"].size(), 2u);
  EXPECT_EQ(state["sites"][0]["id"], "kb");
  EXPECT_EQ(state["sites"][0]["online"], true);
  EXPECT_EQ(state["sites"][0]["last_seen_unix"], 1'700'000'100);
  EXPECT_EQ(state["sites"][0]["activity"], "task 'st/r2/kb': training epoch 2/5 (40%)");
  EXPECT_EQ(state["sites"][1]["enabled"], false);

  ASSERT_EQ(state["studies"].size(), 2u);
  const json& st = state["studies"][0];  // the newest first
  EXPECT_EQ(st["id"], "st");
  EXPECT_EQ(st["state"], "running");
  EXPECT_EQ(st["kind"], "tabular_training");
  EXPECT_EQ(st["current_round"], 2);
  EXPECT_EQ(st["last_round"], 4);  // 0: init, 1-3: train, 4: final evaluation
  EXPECT_EQ(st["report"], "/studies/st/report");
  ASSERT_EQ(st["approvals"].size(), 3u);
  EXPECT_EQ(st["approvals"][0]["state"], "approved");
  EXPECT_EQ(st["approvals"][1]["state"], "denied");
  EXPECT_EQ(st["approvals"][1]["reason"], "not our cohort");
  EXPECT_EQ(st["approvals"][2]["state"], "no answer");
  ASSERT_EQ(st["rounds"].size(), 2u);
  EXPECT_EQ(st["rounds"][0]["state"], "closed");
  EXPECT_EQ(st["rounds"][0]["label"], "train 1");
  EXPECT_EQ(st["rounds"][0]["metrics"]["global.val_auc"], 0.74);
  EXPECT_EQ(st["rounds"][1]["submitted"], 1);
  EXPECT_EQ(st["rounds"][1]["tasks"], 3);
  EXPECT_EQ(st["rounds"][1]["sites"][0],
            (json{{"site", "kb"}, {"state", "done"}, {"num_samples", 120}}));
  EXPECT_EQ(state["studies"][1]["state"], "failed");

  std::vector<std::string> reasons;
  for (const json& f : state["failures"])
    reasons.push_back(f["study"].get<std::string>() + "/" + f["site"].get<std::string>() + ": " +
                      f["reason"].get<std::string>());
  EXPECT_THAT(reasons, ::testing::Contains(HasSubstr("st/hegp: task expired")));
  EXPECT_THAT(reasons, ::testing::Contains("old/: study failed: round 1: too few results"));
  EXPECT_EQ(state["audit"]["available"], false);
}

TEST_F(UiServerTest, AuditFailuresAreListedWithTheirReasons) {
  int reads = 0;
  Start([&reads](int64_t after) -> absl::StatusOr<v1::ReadAuditResponse> {
    ++reads;
    v1::ReadAuditResponse r;
    r.set_last_seq(2);
    if (after >= 2) return r;
    v1::AuditEntry* ok = r.add_entries();
    ok->set_seq(1);
    ok->set_action("result_accepted");
    v1::AuditEntry* failed = r.add_entries();
    failed->set_seq(2);
    failed->set_at_unix(1'700'000'120);
    failed->set_action("failure_received");
    failed->set_study_id("st");
    failed->set_site_id("hegp");
    failed->set_detail("below_minimum_count min=10");
    return r;
  });
  json state = State();
  state = State();  // read again: the entries are not listed twice
  EXPECT_EQ(state["audit"]["available"], true);
  ASSERT_FALSE(state["failures"].empty());
  const json& first = state["failures"][0];  // the only one with a time: first
  EXPECT_EQ(first["source"], "audit");
  EXPECT_EQ(first["site"], "hegp");
  EXPECT_EQ(first["reason"], "failure_received: below_minimum_count min=10");
  int audit_lines = 0;
  for (const json& f : state["failures"]) audit_lines += f["source"] == "audit";
  EXPECT_EQ(audit_lines, 1);
  EXPECT_EQ(reads, 2);
}

TEST_F(UiServerTest, AFinishedStudyIsReadOnceNotOnEveryPoll) {
  State();
  const int polls = api_.polls;
  State();
  State();
  EXPECT_EQ(api_.polls, polls + 2);  // only the running study again, once per poll
}

TEST_F(UiServerTest, AnAggregatorThatGoesAwayIsABannerOverTheLastState) {
  ASSERT_EQ(State()["sites"].size(), 2u);
  api_.down = true;
  clock_.Advance(absl::Seconds(10));
  json state = State();
  EXPECT_EQ(state["aggregator"]["ok"], false);
  EXPECT_THAT(state["aggregator"]["error"].get<std::string>(),
              HasSubstr("UNAVAILABLE: failed to connect"));
  EXPECT_EQ(state["aggregator"]["stale_since_unix"], 1'700'000'140);
  EXPECT_EQ(state["sites"].size(), 2u);  // the last state read
  api_.down = false;
  EXPECT_EQ(State()["aggregator"]["ok"], true);
  // Down from the start: an empty state and the error, not a failed request.
  api_.down = true;
  Start();
  state = State();
  EXPECT_EQ(state["aggregator"]["ok"], false);
  EXPECT_TRUE(state["sites"].empty());
}

TEST_F(UiServerTest, HostileNamesTravelAsJsonStringsAndThePageNeverParsesHtml) {
  const std::string hostile = "<img src=x onerror=alert(1)>";
  api_.sites.push_back(Site(hostile, true, true, 1));
  auto res = Get("/api/state", {{"Cookie", Cookie()}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(json::parse(res->body)["sites"][2]["id"], hostile);
  const std::string script(UiPageScript());
  for (const char* sink :
       {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("}) {
    EXPECT_THAT(script, Not(HasSubstr(sink))) << sink;
  }
}

TEST_F(UiServerTest, ReportsAreServedPerStudy) {
  auto res = Get("/studies/old/report", {{"Cookie", Cookie()}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  auto status = api_.GetStudyStatus("old");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(res->body, StudyReportHtml(*status));
  // One policy, the report's: its inline CSS applies, no script may run.
  EXPECT_EQ(res->get_header_value_count("Content-Security-Policy"), 1u);
  EXPECT_THAT(res->get_header_value("Content-Security-Policy"),
              ::testing::HasSubstr("style-src 'unsafe-inline'"));
  EXPECT_THAT(res->get_header_value("Content-Security-Policy"),
              ::testing::Not(::testing::HasSubstr("script-src")));
  auto missing = Get("/studies/nope/report", {{"Cookie", Cookie()}});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

}  // namespace
}  // namespace scancov::aggregator
