#include "node/gate.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "node/control_egress.h"
#include "protocol/failure_code.h"
#include "protocol/weights_codec.h"
#include "protocol/wire/row_split.h"

namespace scancov::node {
namespace {

std::string TensorsJson(const protocol::TensorSet& set) {
  nlohmann::json list = nlohmann::json::array();
  for (const protocol::Tensor& t : set.tensors()) {
    list.push_back({{"name", t.name},
                    {"shape", t.shape},
                    {"dtype", std::string(protocol::DTypeName(t.dtype))}});
  }
  return list.dump();
}

// The statistics in clear of a header as it leaves (the ledger's summary of a masked release).
std::string SummaryJsonOf(const v1::UploadHeader& header) {
  const std::map<std::string, double> metrics(header.metrics().begin(), header.metrics().end());
  nlohmann::json j = {{"num_samples", header.num_samples()}, {"metrics", metrics}};
  if (!header.result_json().empty()) {
    j["result"] = nlohmann::json::parse(header.result_json(), nullptr, false);
  }
  return j.dump();
}

std::string SummaryJson(const TaskOutcome& outcome) {
  nlohmann::json j = {{"num_samples", outcome.num_samples}, {"metrics", outcome.metrics}};
  if (!outcome.result_json.empty()) {
    j["result"] = nlohmann::json::parse(outcome.result_json, nullptr, false);
  }
  return j.dump();
}

using protocol::FailureCode;
using protocol::WithFailureCode;

// A study that starts from a model the coordinator uploaded names that model's digest in the
// plan the steward approved: its first training round runs from exactly those weights and no
// others, whatever the aggregator serves (a model made to memorise the site's rows is not the
// one that was approved).
absl::Status CheckApprovedInitialModel(const v1::Task& task, const protocol::TensorSet* global) {
  const std::string& approved = task.plan().initial_model_sha256();
  if (approved.empty() || task.kind() != v1::TASK_KIND_TRAIN || task.round() != 1) {
    return absl::OkStatus();
  }
  const std::string got = global == nullptr ? "" : protocol::WeightsDigestHex(*global);
  if (got == approved) return absl::OkStatus();
  return WithFailureCode(
      absl::FailedPreconditionError(absl::StrCat(
          "study '", task.study_id(), "': round 1 would start from ",
          got.empty() ? "no model" : absl::StrCat("weights with digest ", got),
          ", not from the initial model the site approved (", approved, "); nothing was run")),
      FailureCode::kPrecondition);
}

}  // namespace

void GatedDatasetSource::Open(const v1::Task& task, const TaskDeclaration& declaration,
                              const privacy::ReleasePolicy& policy, int64_t min_rows) {
  variables_.clear();
  for (const std::string& v : declaration.variables) {
    if (privacy::IsVariableAllowed(policy, v)) variables_.insert(v);
  }
  outcome_ = declaration.outcome;
  part_ = declaration.part;
  complete_cases_ = declaration.complete_cases;
  holdout_fraction_ = declaration.holdout_fraction;
  study_id_ = task.study_id();
  task_id_ = task.task_id();
  min_rows_ = min_rows;
  open_ = true;
}

void GatedDatasetSource::Close() {
  open_ = false;
  variables_.clear();
  outcome_.clear();
}

absl::StatusOr<TabularRows> GatedDatasetSource::Load(const std::vector<std::string>& variables,
                                                     const std::string& outcome) {
  if (!open_) {
    return WithFailureCode(
        absl::PermissionDeniedError("site data: no task is admitted by the gate"),
        FailureCode::kUndeclaredRelease);
  }
  for (const std::string& v : variables) {
    if (variables_.count(v) == 0) {
      return WithFailureCode(absl::PermissionDeniedError(absl::StrCat(
                                 "site data: variable '", v,
                                 "' was not declared by the task or is kept back by the site")),
                             FailureCode::kVariableKeptBack);
    }
  }
  if (outcome != outcome_) {
    return WithFailureCode(absl::PermissionDeniedError(absl::StrCat(
                               "site data: outcome '", outcome, "' was not declared by the task")),
                           FailureCode::kOutcomeNotDeclared);
  }
  SCV_ASSIGN_OR_RETURN(TabularRows all, inner_->Load(variables, outcome));
  // The declared part of the site's own split: the coordinator names a part and a fraction
  // from a bounded set (protocol/wire/row_split.h), never the seed.
  TabularRows rows;
  rows.columns = all.columns;
  const size_t c = all.columns.size();
  for (size_t i = 0; i < all.keys.size(); ++i) {
    if (part_ != "all") {
      const bool held_out = InHoldout(all.keys[i], split_key_, holdout_fraction_);
      if ((part_ == "train") == held_out) continue;
    }
    rows.keys.push_back(all.keys[i]);
    rows.x.insert(rows.x.end(), all.x.begin() + i * c, all.x.begin() + (i + 1) * c);
    rows.y.push_back(all.y[i]);
  }
  if (static_cast<int64_t>(rows.keys.size()) < min_rows_) {
    return WithFailureCode(absl::FailedPreconditionError(absl::StrCat(
                               "site data: fewer patients with a known '", outcome, "' in the ",
                               part_, " part than the minimum (", min_rows_, ")")),
                           FailureCode::kBelowMinimumCount, {{"min", min_rows_}});
  }
  if (guard_ != nullptr) {
    // The sets a task's numbers come from: every row handed out and, for a kind that drops
    // incomplete rows (it says so), the complete cases over the variables read.
    CohortRead read;
    read.study_id = study_id_;
    read.task_id = task_id_;
    read.variables = variables;
    read.outcome = outcome;
    read.cohorts.push_back(rows.keys);
    std::vector<std::string> complete;
    for (size_t i = 0; i < rows.keys.size(); ++i) {
      bool ok = true;
      for (size_t j = 0; j < c && ok; ++j) ok = !std::isnan(rows.x[i * c + j]);
      if (ok) complete.push_back(rows.keys[i]);
    }
    if (complete_cases_ && complete.size() != rows.keys.size()) {
      read.cohorts.push_back(std::move(complete));
    }
    SCV_RETURN_IF_ERROR(guard_->Admit(read, limits_));
  }
  return rows;
}

TaskGate::TaskGate(GateOptions options, TaskPlugins plugins, privacy::EgressLedger* ledger)
    : options_(std::move(options)),
      dp_(options_.dp, options_.dp_ledger, options_.clock, options_.dp_noise, options_.dp_sgd),
      plugins_(std::move(plugins)),
      ledger_(ledger) {}

absl::StatusOr<TaskDeclaration> TaskGate::Admit(const v1::Task& task) const {
  SCV_ASSIGN_OR_RETURN(protocol::StudyKind kind, protocol::StudyKindOf(task));
  auto it = plugins_.find(kind);
  if (it == plugins_.end() || it->second == nullptr) {
    return WithFailureCode(
        absl::UnimplementedError(absl::StrCat(
            "this node does not run '", std::string(protocol::StudyKindName(kind)), "' tasks")),
        FailureCode::kKindNotRun);
  }
  SCV_ASSIGN_OR_RETURN(TaskDeclaration declaration, it->second->Declare(task));
  for (const std::string& v : declaration.variables) {
    if (!privacy::IsVariableAllowed(options_.policy, v)) {
      spdlog::info("task '{}': variable '{}' is kept back by the site's policy", task.task_id(), v);
    }
  }
  if (declaration.releases_weights && !options_.allow_model_weights) {
    return WithFailureCode(
        absl::PermissionDeniedError(
            "gate: this site's policy does not let model weights leave (allow_model_weights)"),
        FailureCode::kWeightsNotAllowed);
  }
  if (declaration.part != "all" && declaration.part != "train" && declaration.part != "holdout") {
    return WithFailureCode(
        absl::InvalidArgumentError(absl::StrCat("gate: unknown part '", declaration.part, "'")),
        FailureCode::kInvalidSpec);
  }
  if (declaration.part != "all" && !wire::IsAllowedHoldoutFraction(declaration.holdout_fraction)) {
    return WithFailureCode(
        absl::InvalidArgumentError(absl::StrCat("gate: holdout_fraction must be one of ",
                                                wire::kAllowedHoldoutFractionsText)),
        FailureCode::kInvalidSpec);
  }
  return declaration;
}

absl::StatusOr<TaskOutcome> TaskGate::RunAdmitted(TaskPlugin& plugin,
                                                  const TaskDeclaration& declaration,
                                                  const v1::Task& task,
                                                  const protocol::TensorSet* global,
                                                  Progress* progress) {
  // A spec the plug-in did not expect (a field of another JSON type) or a library's exception
  // must not take the node down; the task fails like any other, and the rest goes on.
  // The cohort rule is the site's own minimum; a study's stricter request binds the task's
  // released numbers (each kind applies privacy::EffectiveMinCellCount to them).
  if (options_.tabular != nullptr) {
    options_.tabular->Open(
        task, declaration, options_.policy,
        std::max<int64_t>(options_.policy.min_cell_count, declaration.min_cohort));
  }
  absl::StatusOr<TaskOutcome> outcome;
  try {
    outcome =
        progress != nullptr ? plugin.RunTracked(task, global, *progress) : plugin.Run(task, global);
  } catch (const std::bad_alloc&) {
    outcome = absl::ResourceExhaustedError("out of memory");  // may pass: retried, not reported
  } catch (const std::exception& e) {
    outcome = absl::InvalidArgumentError(
        absl::StrCat("the task could not be processed (", e.what(), ")"));
  } catch (...) {
    outcome = absl::InternalError("the task could not be processed (unknown exception)");
  }
  if (options_.tabular != nullptr) options_.tabular->Close();
  return outcome;
}

absl::Status TaskGate::CheckRelease(const TaskDeclaration& declaration,
                                    const TaskOutcome& outcome) const {
  if (outcome.weights) {
    if (!declaration.releases_weights) {
      return WithFailureCode(
          absl::PermissionDeniedError(
              "gate: the task produced model weights it did not declare; nothing is sent"),
          FailureCode::kUndeclaredRelease);
    }
    if (!options_.allow_model_weights) {
      return WithFailureCode(
          absl::PermissionDeniedError(
              "gate: this site's policy does not let model weights leave (allow_model_weights)"),
          FailureCode::kWeightsNotAllowed);
    }
  }
  for (const auto& [name, value] : outcome.metrics) {
    if (!std::isfinite(value)) {
      return WithFailureCode(
          absl::InvalidArgumentError(absl::StrCat("gate: metric '", name, "' is not finite")),
          FailureCode::kNotFinite);
    }
  }
  if (!outcome.result_json.empty() &&
      nlohmann::json::parse(outcome.result_json, nullptr, false).is_discarded()) {
    return absl::InternalError("gate: the task's result is not valid JSON; nothing is sent");
  }
  return absl::OkStatus();
}

absl::StatusOr<Release> TaskGate::Record(const v1::Task& task, Release release,
                                         const std::string& kind, const std::string& summary_json) {
  if (ledger_ == nullptr) return release;
  privacy::EgressEntry e;
  e.created_unix = absl::ToUnixSeconds(options_.clock->Now());
  e.destination = options_.destination;
  e.task_id = task.task_id();
  e.kind = kind;
  e.summary_json = summary_json;
  release.summary_json = summary_json;
  e.payload_bytes = e.summary_json.size();
  if (release.weights) {
    e.payload_bytes += release.weights->TotalBytes();
    e.payload_sha256 = protocol::WeightsDigestHex(*release.weights);
    e.tensors_json = TensorsJson(*release.weights);
  }
  SCV_ASSIGN_OR_RETURN(release.ledger_entry, ledger_->Record(e));  // nothing leaves without it
  return release;
}

absl::StatusOr<Release> TaskGate::RecordMasked(const v1::Task& task, const Release& plain,
                                               const v1::UploadHeader& header,
                                               protocol::TensorSet masked) {
  const std::string summary = SummaryJsonOf(header);
  Release sent{header, std::move(masked), 0, summary};
  SCV_ASSIGN_OR_RETURN(sent, Record(task, std::move(sent), "result", summary));
  if (ledger_ != nullptr) {
    SCV_RETURN_IF_ERROR(ledger_->MarkOutcome(
        plain.ledger_entry, "withheld",
        absl::StrCat("replaced by entry ", sent.ledger_entry,
                     ": masked under secure aggregation; this release never left in clear")));
  }
  return sent;
}

absl::StatusOr<ApprovalRecord> TaskGate::Approval(const v1::Task& task) {
  SCV_ASSIGN_OR_RETURN(TaskDeclaration declaration, Admit(task));
  const StudyRequest request = RequestOf(task);
  if (options_.approvals == nullptr) {
    ApprovalRecord open;
    open.study_id = request.study_id;
    open.spec_sha256 = request.sha256;
    open.decision = Decision::kApproved;
    open.decided_by = "no approval step";
    return open;
  }
  SCV_ASSIGN_OR_RETURN(protocol::StudyKind kind, protocol::StudyKindOf(task));
  return options_.approvals->Decide(
      request, declaration, options_.approval_rules,
      DescribeRequest(std::string(protocol::StudyKindName(kind)), declaration),
      absl::ToUnixSeconds(options_.clock->Now()));
}

absl::StatusOr<std::vector<ApprovalRecord>> TaskGate::UnreportedDecisions() {
  if (options_.approvals == nullptr) return std::vector<ApprovalRecord>{};
  return options_.approvals->Unreported();
}

void TaskGate::MarkReported(const ApprovalRecord& record) {
  if (options_.approvals == nullptr) return;
  absl::Status s = options_.approvals->MarkReported(record.study_id, record.spec_sha256);
  if (!s.ok()) spdlog::error("{}", std::string(s.message()));
}

absl::StatusOr<Release> TaskGate::Run(const v1::Task& task, const protocol::TensorSet* global,
                                      Progress* progress) {
  SCV_ASSIGN_OR_RETURN(ApprovalRecord approval, Approval(task));
  if (approval.decision != Decision::kApproved) {
    return WithFailureCode(absl::FailedPreconditionError(absl::StrCat(
                               "study '", task.study_id(), "' is ", DecisionName(approval.decision),
                               " at this site; none of its tasks runs")),
                           FailureCode::kNotApproved);
  }
  SCV_ASSIGN_OR_RETURN(TaskDeclaration declaration, Admit(task));
  SCV_RETURN_IF_ERROR(CheckApprovedInitialModel(task, global));
  declaration.min_cohort = approval.min_cohort;
  SCV_ASSIGN_OR_RETURN(std::optional<privacy::dp::DpSpec> dp, dp_.Admit(task, declaration));
  TaskPlugin& plugin = *plugins_.at(*protocol::StudyKindOf(task));
  dp_.BeginTraining(dp);
  absl::StatusOr<TaskOutcome> ran =
      progress != nullptr && progress->cancelled()
          ? absl::CancelledError(progress->cancel_reason())  // before it began: not even read
          : RunAdmitted(plugin, declaration, task, global, progress);
  dp_.EndTraining();
  if (progress != nullptr && progress->cancelled()) {
    // Whatever the plug-in made of it (a kind that does not check ends its work), nothing is
    // released, recorded or charged to the site's privacy budget for a task nobody counts.
    return absl::CancelledError(progress->cancel_reason());
  }
  SCV_ASSIGN_OR_RETURN(TaskOutcome outcome, std::move(ran));
  SCV_RETURN_IF_ERROR(CheckRelease(declaration, outcome));
  if (dp && outcome.weights) SCV_RETURN_IF_ERROR(dp_.Apply(task, *dp, global, &*outcome.weights));
  Release release;
  release.header.set_task_id(task.task_id());
  release.header.set_num_samples(outcome.num_samples);
  release.header.mutable_metrics()->insert(outcome.metrics.begin(), outcome.metrics.end());
  release.header.set_result_json(outcome.result_json);
  const std::string summary = SummaryJson(outcome);
  release.weights = std::move(outcome.weights);
  return Record(task, std::move(release), "result", summary);
}

absl::StatusOr<Release> TaskGate::Failure(const v1::Task& task, const absl::Status& why) {
  const std::string report = protocol::FailureReportOf(why);
  Release release;
  release.header.set_task_id(task.task_id());
  release.header.set_failure(report);
  return Record(task, std::move(release), "failure", nlohmann::json{{"failure", report}}.dump());
}

void TaskGate::MarkOutcome(const Release& release, const std::string& state,
                           const std::string& detail) {
  if (ledger_ == nullptr) return;
  absl::Status marked = ledger_->MarkOutcome(release.ledger_entry, state, detail);
  if (!marked.ok()) spdlog::error("{}", std::string(marked.message()));
}

absl::StatusOr<int64_t> TaskGate::RecordControl(const std::string& kind, const std::string& task_id,
                                                uint64_t bytes, const std::string& summary_json) {
  if (ledger_ == nullptr) return 0;
  privacy::EgressEntry e;
  e.created_unix = absl::ToUnixSeconds(options_.clock->Now());
  e.destination = options_.destination;
  e.task_id = task_id;
  e.kind = kind;
  e.payload_bytes = bytes;
  e.summary_json = summary_json;
  return ledger_->Record(e);
}

void TaskGate::CompleteControl(int64_t id, uint64_t bytes, const std::string& summary_json,
                               const std::string& state, const std::string& detail) {
  if (ledger_ == nullptr || id == 0) return;
  absl::Status s = ledger_->Amend(id, bytes, summary_json, state, detail);
  if (!s.ok()) spdlog::error("{}", std::string(s.message()));
}

absl::StatusOr<int> TaskGate::MarkInterruptedControl() {
  if (ledger_ == nullptr) return 0;
  SCV_ASSIGN_OR_RETURN(std::vector<privacy::EgressEntry> entries, ledger_->List());
  int marked = 0;
  for (const privacy::EgressEntry& e : entries) {
    if (e.state != "pending" ||
        (e.kind != kHeartbeatEntry && e.kind != kRegisterEntry && e.kind != kDecisionEntry)) {
      continue;
    }
    SCV_RETURN_IF_ERROR(ledger_->MarkOutcome(
        e.id, "interrupted",
        e.kind == kHeartbeatEntry
            ? "the node stopped before the task ended: beats left at the interval above from "
              "the entry's time until it stopped; how many is not known"
            : "the node stopped before the aggregator answered: the request may have left"));
    ++marked;
  }
  return marked;
}

}  // namespace scancov::node
