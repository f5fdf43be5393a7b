// The coordinator's commands against an in-process federation: a CoordinatorApi that calls a
// Federation as the coordinator, and a clock whose waits let the sites' nodes work, so that
// scancov-coord's longer commands (validate, export-model --choose-cut-points) run whole in a
// test with nothing on the network and no real sleeping.
#ifndef SCANCOV_TESTS_IN_PROCESS_COORDINATOR_H_
#define SCANCOV_TESTS_IN_PROCESS_COORDINATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "tests/in_process_coordinator_api.h"
#include "tests/test_sites.h"

namespace scancov::testing_sites {

// A node per site (the plain task kinds over the site's clinical store), all on `time`, and a
// Clock for the coordinator whose every wait is one turn of each node before `time` moves on:
// the coordinator polls, the nodes work, as they would concurrently.
class NodesTakeTurns : public Clock {
 public:
  // `federation`, `time` and `sites` must outlive this.
  NodesTakeTurns(aggregator::Federation* federation, FakeClock* time, std::vector<Site>& sites)
      : time_(time) {
    for (Site& s : sites) {
      clients_.push_back(std::make_unique<aggregator::InProcessFederationClient>(
          federation, aggregator::Caller{aggregator::Caller::Role::kSite, s.id}));
      sources_.push_back(std::make_unique<node::ClinicalDatasetSource>(s.db.get()));
      hosts_.push_back(MakeAnalysisHost(sources_.back().get(), s.id));
      node::AgentOptions options;
      options.clock = time;
      agents_.push_back(std::make_unique<node::NodeAgent>(
          clients_.back().get(), &hosts_.back()->gate(), nullptr, options));
    }
  }

  absl::Time Now() override { return time_->Now(); }
  void SleepFor(absl::Duration d) override {
    for (auto& agent : agents_) EXPECT_TRUE(agent->RunOnce().ok());
    time_->Advance(d);
  }

 private:
  FakeClock* time_;
  std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients_;
  std::vector<std::unique_ptr<node::ClinicalDatasetSource>> sources_;
  std::vector<std::unique_ptr<node::TaskHost>> hosts_;
  std::vector<std::unique_ptr<node::NodeAgent>> agents_;
};

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_IN_PROCESS_COORDINATOR_H_
