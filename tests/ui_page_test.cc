// The coordinator's live page (scancov-coord ui, aggregator/coordinator/ui_server.h) in headless
// Chromium, over a real aggregator on 127.0.0.1 with mutual TLS: the page shows the sites and
// the study's rounds, and changes as the study advances (loaded twice); a load without the token,
// or by another host name resolving to 127.0.0.1 (DNS rebinding), is refused. A screenshot is
// kept under the build tree at each point (their paths are printed). No LibTorch: the sites are raw
// clients doing the "toy" study's tasks. Then hostile names, from a fake API, shown as text and
// never run.
#include <filesystem>
#include <iostream>

#include "aggregator/coordinator/coordinator_api.h"
#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/coordinator/fake_coordinator_api.h"
#include "aggregator/coordinator/ui_server.h"
#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/grpc_federation_client.h"
#include "protocol/weights_codec.h"
#include "tests/headless_chromium.h"
#include "tests/test_federation.h"
#include "tests/test_pki.h"

#ifndef SCANCOV_TEST_ARTIFACTS_DIR
#define SCANCOV_TEST_ARTIFACTS_DIR "/tmp/scancov_test_artifacts"
#endif

namespace scancov {
namespace {

using aggregator::UiServer;
using protocol::TensorSet;
using ::testing::HasSubstr;
using ::testing::Not;
namespace browser = testing_browser;

const std::vector<std::string> kSites = {"kb", "igr", "hegp"};

TensorSet Weights(float a, float b) {
  TensorSet s;
  EXPECT_TRUE(s.Add(protocol::MakeFloat32("w", {2}, {a, b})).ok());
  EXPECT_TRUE(s.Add(protocol::FromDoubles("n", {}, protocol::DType::kInt64, {1})).ok());
  return s;
}

std::string Artifact(const std::string& name) {
  return std::string(SCANCOV_TEST_ARTIFACTS_DIR) + "/" + name;
}

// The DOM, or the test fails saying why (chromium missing: how to install it).
std::string Dom(const std::string& url, const browser::ChromiumOptions& options = {}) {
  absl::StatusOr<std::string> dom = browser::DumpDom(url, options);
  EXPECT_TRUE(dom.ok()) << dom.status();
  return dom.ok() ? *dom : "";
}

class UiPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(browser::FindChromium().ok()) << browser::FindChromium().status();
    pki_.Init("ui_page_");
    auto store = aggregator::AggregatorStore::Open(pki_.dir() + "/aggregator.db");
    ASSERT_TRUE(store.ok()) << store.status();
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.wait = absl::Milliseconds(50);
    auto server = aggregator::AggregatorServer::Start(
        "127.0.0.1:0", pki_.Issue(sites::Role::kAggregator, "aggregator"),
        testing_sites::SpooledFederation(std::move(*store), options, pki_.dir()));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    const std::string target = "127.0.0.1:" + std::to_string(server_->port());
    auto coordinator = aggregator::CoordinatorClient::Create(
        target, pki_.Issue(sites::Role::kCoordinator, "alice"));
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = std::move(*coordinator);
    api_ = std::make_unique<aggregator::GrpcCoordinatorApi>(coordinator_.get());
    node::GrpcClientOptions client_options;
    client_options.long_poll = absl::Milliseconds(200);
    for (const std::string& s : kSites) {
      ASSERT_TRUE(coordinator_->EnrollSite(s, s + " hospital").ok());
      auto client = node::GrpcFederationClient::Create(target, pki_.Issue(sites::Role::kSite, s),
                                                       "", client_options);
      ASSERT_TRUE(client.ok()) << client.status();
      v1::RegisterRequest hello;
      hello.set_protocol_version(v1::PROTOCOL_VERSION_2);
      hello.set_node_version("test");
      ASSERT_TRUE((*client)->Register(hello).ok());
      sites_[s] = std::move(*client);
    }
    aggregator::UiServerOptions ui_options;
    aggregator::CoordinatorClient* c = coordinator_.get();
    ui_options.read_audit = [c](int64_t after) { return c->ReadAudit(after, 500); };
    auto ui = UiServer::Start(api_.get(), std::move(ui_options));
    ASSERT_TRUE(ui.ok()) << ui.status();
    ui_ = std::move(*ui);
  }

  void TearDown() override {
    if (ui_) ui_->Stop();
    if (server_) server_->Shutdown(absl::ZeroDuration());
  }

  // The site pulls its next task (empty when it has none).
  v1::Task Pull(const std::string& site) {
    auto pulled = sites_[site]->PullTask();
    EXPECT_TRUE(pulled.ok()) << pulled.status();
    return pulled.ok() && pulled->has_task() ? pulled->task() : v1::Task();
  }

  // The site does `task` as a well-behaved node of the toy study would.
  void Finish(const std::string& site, const v1::Task& task, float delta) {
    v1::UploadHeader header;
    header.set_task_id(task.task_id());
    header.set_num_samples(100);
    (*header.mutable_metrics())["val_auc"] = 0.6 + delta / 100;
    TensorSet out = Weights(0, 0);
    if (task.kind() != v1::TASK_KIND_INIT_MODEL) {
      auto global = sites_[site]->DownloadWeights(task.task_id(), task.checkpoint_id());
      ASSERT_TRUE(global.ok()) << global.status();
      std::vector<double> w = protocol::ToDoubles(*global->Find("w"));
      out = Weights(static_cast<float>(w[0] + delta), static_cast<float>(w[1] - delta));
    }
    auto up =
        sites_[site]->UploadResult(header, task.kind() == v1::TASK_KIND_EVALUATE ? nullptr : &out);
    ASSERT_TRUE(up.ok()) << up.status();
  }

  // The site reports that it could not do `task` (a code of protocol/failure_code.h).
  void Fail(const std::string& site, const v1::Task& task, const std::string& report) {
    v1::UploadHeader header;
    header.set_task_id(task.task_id());
    header.set_failure(report);
    auto up = sites_[site]->UploadResult(header, nullptr);
    ASSERT_TRUE(up.ok()) << up.status();
  }

  testing_sites::TestPki pki_;
  std::unique_ptr<aggregator::AggregatorServer> server_;
  std::unique_ptr<aggregator::CoordinatorClient> coordinator_;
  std::unique_ptr<aggregator::GrpcCoordinatorApi> api_;
  std::map<std::string, std::unique_ptr<node::GrpcFederationClient>> sites_;
  std::unique_ptr<UiServer> ui_;
};

TEST_F(UiPageTest, ThePageShowsTheSitesAndRoundsAndFollowsTheStudy) {
  v1::StudySpec spec;
  spec.set_name("ui-demo");
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  for (const std::string& s : kSites) spec.add_sites(s);
  spec.set_rounds(2);
  spec.set_min_sites(2);
  spec.set_round_timeout_s(120);
  spec.mutable_plan()->set_model("toy");
  spec.mutable_plan()->set_local_epochs(1);
  spec.mutable_plan()->set_learning_rate(0.1);
  ASSERT_TRUE(coordinator_->CreateStudy(spec).ok());
  // kb makes the initial model and trains round 1; igr is at it (its heartbeat says how far);
  // hegp has not asked yet.
  Finish("kb", Pull("kb"), 0);
  Finish("kb", Pull("kb"), 1);
  const v1::Task igr_task = Pull("igr");
  ASSERT_FALSE(igr_task.task_id().empty());
  v1::HeartbeatRequest beat;
  beat.set_task_id(igr_task.task_id());
  beat.set_stage("training epoch 1/2");
  beat.set_progress(0.5);
  ASSERT_TRUE(sites_["igr"]->Heartbeat(beat).ok());

  const std::string first = Dom(ui_->Url());
  std::filesystem::create_directories(SCANCOV_TEST_ARTIFACTS_DIR);
  ASSERT_TRUE(WriteFileAtomic(Artifact("ui_page_round1.html"), first).ok());
  for (const std::string& s : kSites) EXPECT_THAT(first, HasSubstr(">" + s + "</strong>")) << s;
  EXPECT_THAT(first, HasSubstr(">ui-demo</h3>"));
  EXPECT_THAT(first, HasSubstr(">running</span>"));
  EXPECT_THAT(first, HasSubstr(">round 1 of 3</span>"));  // 0: init, 1-2: train, 3: evaluation
  EXPECT_THAT(first, HasSubstr(">round 1: train 1</td>"));
  EXPECT_THAT(first, HasSubstr(">kb: done (n=100)</span>"));
  EXPECT_THAT(first, HasSubstr(">igr: issued</span>"));
  EXPECT_THAT(first, HasSubstr(">hegp: pending</span>"));
  EXPECT_THAT(first, HasSubstr("training epoch 1/2 (50%)"));
  EXPECT_THAT(first, HasSubstr(">1 of 3</td>"));
  EXPECT_THAT(first, HasSubstr("href=\"/studies/ui-demo/report\""));
  EXPECT_THAT(first, Not(HasSubstr("igr: done")));
  EXPECT_THAT(first, Not(HasSubstr("Aggregator unreachable")));
  const std::string running_png = Artifact("ui_page_running.png");
  absl::Status running_shot = browser::Screenshot(ui_->Url(), running_png);
  ASSERT_TRUE(running_shot.ok()) << running_shot;
  std::cout << "screenshot (study running): " << running_png << std::endl;

  // The study runs to its end; hegp cannot train round 2 (too few patients by its policy).
  Finish("igr", igr_task, 2);
  for (int step = 0; step < 50; ++step) {
    for (const std::string& s : kSites) {
      const v1::Task task = Pull(s);
      if (task.task_id().empty()) continue;
      if (s == "hegp" && task.round() == 2) {
        Fail(s, task, "below_minimum_count min=10");
      } else {
        Finish(s, task, 1);
      }
    }
    auto status = coordinator_->GetStudyStatus("ui-demo");
    ASSERT_TRUE(status.ok()) << status.status();
    if (status->state() != v1::STUDY_STATE_RUNNING) break;
  }
  const std::string second = Dom(ui_->Url());
  ASSERT_TRUE(WriteFileAtomic(Artifact("ui_page_done.html"), second).ok());
  EXPECT_THAT(second, HasSubstr("class=\"badge st-done\">done</span>"));
  EXPECT_THAT(second, Not(HasSubstr(">running</span>")));
  EXPECT_THAT(second, HasSubstr(">igr: done (n=100)</span>"));
  EXPECT_THAT(second, HasSubstr(">hegp: done (n=100)</span>"));  // round 1
  EXPECT_THAT(second, HasSubstr(">hegp: failed</span>"));        // round 2
  // The failure with its reason, from the round and from the audit log.
  EXPECT_THAT(second, HasSubstr("task failed: the site reported a failure"));
  EXPECT_THAT(second, HasSubstr(">failure_received: below_minimum_count min=10</td>"));
  EXPECT_THAT(first, Not(HasSubstr("below_minimum_count")));
  EXPECT_THAT(second, HasSubstr(">round 3: final evaluation</td>"));
  EXPECT_THAT(second, HasSubstr(">round 3 of 3</span>"));
  EXPECT_NE(first, second);

  const std::string png = Artifact("ui_page.png");
  absl::Status shot = browser::Screenshot(ui_->Url(), png);
  ASSERT_TRUE(shot.ok()) << shot;
  std::cout << "screenshot (study done): " << png << std::endl;
}

TEST_F(UiPageTest, ALoadWithoutTheTokenOrFromAnotherHostIsRefused) {
  const std::string port = std::to_string(ui_->port());
  const std::string bare = Dom("http://127.0.0.1:" + port + "/");
  EXPECT_THAT(bare, HasSubstr("403 Forbidden: no access token"));
  EXPECT_THAT(bare, Not(HasSubstr("kb")));
  const std::string wrong =
      Dom("http://127.0.0.1:" + port + "/?token=0123456789abcdef0123456789abcdef");
  EXPECT_THAT(wrong, HasSubstr("403 Forbidden: wrong token"));
  // A name of the attacker's that resolves to 127.0.0.1 (DNS rebinding), with the token.
  browser::ChromiumOptions rebinding;
  rebinding.extra_args = {"--host-resolver-rules=MAP rebind.example 127.0.0.1"};
  const std::string rebound =
      Dom("http://rebind.example:" + port + "/?token=" + ui_->token(), rebinding);
  EXPECT_THAT(rebound, HasSubstr("403 Forbidden: wrong Host header"));
  EXPECT_THAT(rebound, Not(HasSubstr("kb")));
  // The honest load of the same test sees the sites.
  EXPECT_THAT(Dom(ui_->Url()), HasSubstr(">kb</strong>"));
}

// The coordinator's dry run and abort over the real gRPC service (Coordinator.CreateStudy with
// dry_run, Coordinator.AbortStudy), as `scancov-coord create-study --dry-run` and `abort` call
// them: the dry run creates nothing; the abort ends the study, the site working on a task hears
// that it no longer counts and its upload is refused, and the page shows who aborted and why.
TEST_F(UiPageTest, ADryRunCreatesNothingAndAnAbortOverGrpcEndsTheStudyForEveryone) {
  v1::StudySpec spec;
  spec.set_name("ui-abort");
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  for (const std::string& s : kSites) spec.add_sites(s);
  spec.set_rounds(3);
  spec.set_round_timeout_s(120);
  spec.mutable_plan()->set_model("toy");
  spec.mutable_plan()->set_local_epochs(1);
  spec.mutable_plan()->set_learning_rate(0.1);
  absl::StatusOr<v1::StudyStatus> dry = api_->CreateStudyDryRun(spec);
  ASSERT_TRUE(dry.ok()) << dry.status();
  absl::StatusOr<v1::ListStudiesResponse> none = api_->ListStudies();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->studies_size(), 0);
  ASSERT_TRUE(api_->CreateStudy(spec).ok());
  Finish("kb", Pull("kb"), 0);  // the initial model
  const v1::Task igr_task = Pull("igr");
  ASSERT_EQ(igr_task.round(), 1u);

  absl::StatusOr<v1::StudyStatus> aborted = api_->AbortStudy("ui-abort", "wrong outcome");
  ASSERT_TRUE(aborted.ok()) << aborted.status();
  EXPECT_EQ(aborted->state(), v1::STUDY_STATE_FAILED);
  EXPECT_EQ(aborted->message(), "aborted by alice in round 1: wrong outcome");
  v1::HeartbeatRequest beat;
  beat.set_task_id(igr_task.task_id());
  absl::StatusOr<v1::HeartbeatResponse> heard = sites_["igr"]->Heartbeat(beat);
  ASSERT_TRUE(heard.ok()) << heard.status();
  EXPECT_FALSE(heard->task_current());
  v1::UploadHeader header;
  header.set_task_id(igr_task.task_id());
  header.set_num_samples(100);
  const TensorSet late = Weights(1, 1);
  absl::StatusOr<v1::UploadResponse> up = sites_["igr"]->UploadResult(header, &late);
  EXPECT_FALSE(up.ok() && up->accepted()) << "a cancelled task's upload was accepted";
  EXPECT_TRUE(Pull("hegp").task_id().empty());
  EXPECT_EQ(api_->AbortStudy("ui-abort", "again").status().code(),
            absl::StatusCode::kFailedPrecondition);

  const std::string dom = Dom(ui_->Url());
  EXPECT_THAT(dom, HasSubstr(">ui-abort</h3>"));
  EXPECT_THAT(dom, HasSubstr(">failed</span>"));
  EXPECT_THAT(dom, HasSubstr("aborted by alice in round 1: wrong outcome"));
  EXPECT_THAT(dom, HasSubstr(">igr: cancelled</span>"));
}

// Site names and messages are whatever the aggregator says: they are shown as text, never run.
TEST(UiPageHostileTest, HostileNamesAreShownAsTextAndNeverRun) {
  ASSERT_TRUE(browser::FindChromium().ok()) << browser::FindChromium().status();
  aggregator::FakeCoordinatorApi api;
  v1::SiteInfo site;
  site.set_site_id("<img src=x onerror=\"document.title='pwned'\">");
  site.set_display_name("<b id=\"injected\">bold</b>");
  site.set_enabled(true);
  api.sites.push_back(site);
  v1::StudyStatus study;
  study.set_study_id("s<script>document.title='pwned'</script>");
  study.set_state(v1::STUDY_STATE_FAILED);
  study.set_message("<svg onload=\"document.title='pwned'\"></svg>");
  api.AddStudy(study);
  auto ui = UiServer::Start(&api, {});
  ASSERT_TRUE(ui.ok()) << ui.status();
  const std::string dom = Dom((*ui)->Url());
  EXPECT_THAT(dom, HasSubstr("<title>ScanCOV coordinator</title>"));
  EXPECT_THAT(dom, Not(HasSubstr("pwned</title>")));
  EXPECT_THAT(dom, HasSubstr("&lt;img src=x onerror=\"document.title='pwned'\"&gt;"));
  EXPECT_THAT(dom, HasSubstr("&lt;b id=\"injected\"&gt;bold&lt;/b&gt;"));
  EXPECT_THAT(dom, Not(HasSubstr("<b id=\"injected\">")));
  EXPECT_THAT(dom, Not(HasSubstr("<svg")));
  EXPECT_THAT(dom, HasSubstr("&lt;svg onload="));
}

}  // namespace
}  // namespace scancov
