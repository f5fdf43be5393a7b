// TaskHost: a node's tasks assembled from its resources: the plug-ins of every kind the program
// was built with (node/tasks/registry.h), the gate in front of them (node/gate.h) and the gated
// view of the site's rows they read through. scancov-node builds one; so do the integration
// tests, so that they run tasks exactly as a node does.
#ifndef SCANCOV_NODE_TASKS_TASK_HOST_H_
#define SCANCOV_NODE_TASKS_TASK_HOST_H_

#include <initializer_list>
#include <memory>
#include <string>

#include "core/env.h"
#include "node/approvals.h"
#include "node/cohort_guard.h"
#include "node/gate.h"
#include "node/tasks/registry.h"
#include "node/tasks/tercile_budget.h"
#include "privacy/egress_ledger.h"

namespace scancov::node {

struct NodeResources {
  NodeContext context;      // context.tabular is the site's own source; the host gates it
  std::string destination;  // the aggregator's address, for the ledger
  Clock* clock = Clock::Real();
  privacy::EgressLedger* ledger = nullptr;  // null: nothing recorded (tests)
  // The site's approvals and pre-approval rules (node/approvals.h); null: no approval step
  // (tests of other parts only; scancov-node always has one).
  ApprovalBook* approvals = nullptr;
  std::vector<ApprovalRule> approval_rules;
  // The site's memory of cohorts and its budget (node/cohort_guard.h); null: cohorts are not
  // compared across studies (tests of other parts only; scancov-node always has one).
  CohortGuard* cohorts = nullptr;
  int64_t max_studies_per_variables = 25;
  int64_t max_rounds_per_variables = 2000;
  // Differential privacy (node/dp_filter.h): the site's maximum and its ledger (null: releases
  // accounted in memory only; tests of other parts).
  DpSitePolicy dp;
  privacy::dp::DpLedger* dp_ledger = nullptr;
};

using TaskPluginMaker = TaskPlugins (*)(const NodeContext& context);

class TaskHost {
 public:
  // `makers`: MakePlainTasks, and MakeTorchTasks where the program links LibTorch. Without a
  // terciles budget in the context the host keeps one in memory.
  TaskHost(const NodeResources& resources, std::initializer_list<TaskPluginMaker> makers);

  TaskGate& gate() { return *gate_; }

 private:
  TercileBudget own_terciles_;
  DpSgdBoard dp_sgd_;  // the gate posts a dp_sgd task's terms here for the training plug-in
  std::unique_ptr<GatedDatasetSource> gated_;
  std::unique_ptr<TaskGate> gate_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASKS_TASK_HOST_H_
