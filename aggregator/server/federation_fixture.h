// The fixture of the Federation tests: three enrolled sites (kb, igr, hegp), a toy training
// study, well-behaved in-process nodes, a fake clock.
#ifndef SCANCOV_AGGREGATOR_SERVER_FEDERATION_FIXTURE_H_
#define SCANCOV_AGGREGATOR_SERVER_FEDERATION_FIXTURE_H_

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace testing_fixture {

using protocol::TensorSet;
using protocol::ToDoubles;

inline const Caller kCoordinator{Caller::Role::kCoordinator, "alice"};
// A fresh database file under the test's temporary folder.
inline std::string TempDb(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name + ".db";
  std::filesystem::remove(path);
  return path;
}

inline Caller SiteCaller(const std::string& id) { return {Caller::Role::kSite, id}; }

inline TensorSet Weights(float a, float b) {
  TensorSet s;
  EXPECT_TRUE(s.Add(protocol::MakeFloat32("w", {2}, {a, b})).ok());
  EXPECT_TRUE(s.Add(protocol::FromDoubles("n", {}, protocol::DType::kInt64, {1})).ok());
  return s;
}

inline v1::StudySpec Spec(const std::string& name, uint32_t rounds, double timeout = 0,
                          uint32_t min_sites = 0) {
  v1::StudySpec spec;
  spec.set_name(name);
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  for (const char* s : {"kb", "igr", "hegp"}) spec.add_sites(s);
  spec.set_rounds(rounds);
  spec.set_round_timeout_s(timeout);
  spec.set_min_sites(min_sites);
  spec.mutable_plan()->set_model("toy");
  spec.mutable_plan()->set_local_epochs(1);
  spec.mutable_plan()->set_learning_rate(0.1);
  return spec;
}

inline std::string SiteState(const v1::StudyStatus& status, uint32_t round,
                             const std::string& site) {
  for (const v1::RoundStatus& r : status.rounds()) {
    if (r.round() != round) continue;
    for (const v1::SiteRoundStatus& s : r.sites()) {
      if (s.site_id() == site) return s.state();
    }
  }
  return "(none)";
}

class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(":memory:"); }

  // A federation on `db` with its uploads spooled under a folder of the test's own (kept across
  // Start calls of one test, as an aggregator's state directory is across restarts).
  void Start(const std::string& db) {
    auto store = AggregatorStore::Open(db);
    ASSERT_TRUE(store.ok()) << store.status();
    FederationOptions options;
    options.studies = &AllStudyLogics();
    options.clock = &clock_;
    options.keep_checkpoints = keep_checkpoints_;
    options.before_fold = before_fold_;
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string dir = ::testing::TempDir() + "/spool_" + test->test_suite_name() + "_" +
                            test->name() + (db == ":memory:" ? "_mem" : "");
    if (spool_dirs_.insert(dir).second) std::filesystem::remove_all(dir);  // fresh per test
    federation_.reset();  // one process at a time holds the spool
    auto spool = UploadSpool::Open(dir, protocol::ManifestLimits());
    ASSERT_TRUE(spool.ok()) << spool.status();
    federation_ = std::make_unique<Federation>(std::move(*store), options, std::move(*spool));
  }

  void Enroll() {
    for (const char* s : {"kb", "igr", "hegp"}) {
      v1::EnrollSiteRequest req;
      req.set_site_id(s);
      ASSERT_TRUE(federation_->EnrollSite(kCoordinator, req).ok());
    }
  }

  v1::StudyStatus Create(const v1::StudySpec& spec) {
    v1::CreateStudyRequest req;
    *req.mutable_spec() = spec;
    auto status = federation_->CreateStudy(kCoordinator, req);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? *status : v1::StudyStatus();
  }

  // One step of a well-behaved node: pull; INIT -> upload (0,0); TRAIN -> global + delta.
  // Returns the task id it completed, or "" if it had nothing to do.
  std::string Step(const std::string& site, float delta, uint64_t samples) {
    InProcessFederationClient client(federation_.get(), SiteCaller(site), 16);
    auto pulled = client.PullTask();
    EXPECT_TRUE(pulled.ok()) << pulled.status();
    if (!pulled.ok() || !pulled->has_task()) return "";
    const v1::Task& task = pulled->task();
    v1::UploadHeader header;
    header.set_task_id(task.task_id());
    header.set_num_samples(samples);
    (*header.mutable_metrics())["val_auc"] = 0.5 + delta / 100;
    TensorSet out;
    if (task.kind() == v1::TASK_KIND_INIT_MODEL) {
      out = Weights(0, 0);
    } else {
      auto global = client.DownloadWeights(task.task_id(), task.checkpoint_id());
      EXPECT_TRUE(global.ok()) << global.status();
      std::vector<double> w = ToDoubles(*global->Find("w"));
      out = Weights(static_cast<float>(w[0] + delta), static_cast<float>(w[1] - delta));
    }
    auto up = client.UploadResult(header, task.kind() == v1::TASK_KIND_EVALUATE ? nullptr : &out);
    EXPECT_TRUE(up.ok()) << up.status();
    return task.task_id();
  }

  void RunToCompletion(const std::string& study) {
    for (int i = 0; i < 100; ++i) {
      Step("kb", 1, 100);
      Step("igr", 2, 300);
      Step("hegp", 4, 600);
      auto status = federation_->GetStudyStatus(kCoordinator, study);
      ASSERT_TRUE(status.ok());
      if (status->state() == v1::STUDY_STATE_DONE) return;
    }
    FAIL() << "study did not finish";
  }

  FakeClock clock_;
  uint32_t keep_checkpoints_ = 3;
  std::function<void(const std::string& task_id)> before_fold_;  // FederationOptions
  std::unique_ptr<Federation> federation_;
  std::set<std::string> spool_dirs_;
};

}  // namespace testing_fixture
}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_FEDERATION_FIXTURE_H_
