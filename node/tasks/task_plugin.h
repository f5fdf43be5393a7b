// TaskPlugin: one study kind at the node. A kind says, from the task alone and before anything
// is read, what it will read and what it will release (Declare); the node's gate
// (node/gate.h) checks that against the site's policy, lets the task read only what it
// declared, runs it, and checks what it produced before anything leaves.
//
// A kind lives in node/tasks/<kind>_task.cc and registers its factory there with
// SCANCOV_REGISTER_TASK; node/tasks/registry.h builds the node's plug-ins from them.
#ifndef SCANCOV_NODE_TASKS_TASK_PLUGIN_H_
#define SCANCOV_NODE_TASKS_TASK_PLUGIN_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/task_runner.h"
#include "node/tasks/dp_sgd_terms.h"
#include "privacy/release_policy.h"
#include "protocol/study_kind.h"

namespace scancov::node {

class DatasetSource;
class LabelledSeriesSource;
class NodeStore;
class SeveritySource;
class TercileBudget;

// What the node offers its tasks. Owned by the node program; every pointer outlives the
// plug-ins made from it and may be null when the node has no such resource (a task that needs
// it then fails, naming it). `tabular` is the gate's view of the site's rows: a task reads
// only the variables and outcome it declared, and only those the site allows.
struct NodeContext {
  std::string site_id;
  std::string device = "auto";
  int threads = 0;
  privacy::ReleasePolicy policy;  // the site's own (site file, "privacy")
  bool allow_model_weights = true;
  DatasetSource* tabular = nullptr;
  LabelledSeriesSource* labelled_series = nullptr;
  SeveritySource* scans = nullptr;
  TercileBudget* terciles = nullptr;
  NodeStore* store = nullptr;  // the node's store, for what a task keeps at the site
  // The site's own key for every split of its patients (train/holdout, validation), derived
  // from the site secret: splits are fixed per site and no coordinator can choose or vary them.
  uint64_t split_key = 0;
  // Where a training kind that can run DP-SGD takes the running task's terms (null: none posted;
  // the task host's board, which the gate fills).
  DpSgdBoard* dp_sgd = nullptr;
};

// What a task will read and release, from its spec alone.
struct TaskDeclaration {
  std::vector<std::string> variables;  // tabular variables read (admission, CT, ai_severity:*)
  std::string outcome;                 // the outcome read; "" for none
  bool reads_ct = false;               // CT series (and their labels)
  bool releases_weights = false;       // a model's weights may leave with the result
  int requested_min_cell_count = 0;    // the study's minimum, which may only tighten the site's
  // Which of the site's rows the task reads: "all", or the "train" or "holdout" part of the
  // site's fixed split (InHoldout with the site's split key) at `holdout_fraction`. The gate
  // applies it, so that the rows a task sees are the rows the gate checked.
  std::string part = "all";
  double holdout_fraction = 0.19;
  // Whether the task's numbers come from the complete cases over the variables it reads (a
  // regression drops incomplete rows) rather than from every row it reads (a model that imputes,
  // per-variable counts): the cohort guard then also compares that set across studies.
  bool complete_cases = false;
  // Whether the task can train with sample-level DP-SGD, taking its terms from
  // NodeContext::dp_sgd: "" when it can, otherwise why not (the gate refuses a study asking for
  // it with this reason). Matters only for kinds that release weights.
  std::string dp_sgd_unavailable =
      "DP-SGD runs only for tabular_training (models logistic and severity_mlp without "
      "BatchNorm)";
  // Set by the gate, not the plug-in: the fewest rows a read may return (the approving rule's
  // minimum cohort; the site's minimum count applies when larger).
  int64_t min_cohort = 0;
};

class TaskPlugin : public TaskRunner {
 public:
  virtual absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const = 0;
};

using TaskPluginFactory = std::unique_ptr<TaskPlugin> (*)(const NodeContext& context);
using TaskPlugins = std::map<protocol::StudyKind, std::unique_ptr<TaskPlugin>>;

// In a kind's own file, at namespace scancov::node scope:
//   SCANCOV_REGISTER_TASK(logistic_regression, &MakeLogisticRegressionTask);
#define SCANCOV_REGISTER_TASK(kind, factory) \
  ::scancov::node::TaskPluginFactory TaskFactory_##kind() { return factory; }

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASKS_TASK_PLUGIN_H_
