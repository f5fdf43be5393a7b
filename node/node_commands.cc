#include "node/node_commands.h"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "core/status_macros.h"
#include "node/clinical/clinical_store.h"
#include "node/cohort_guard.h"
#include "node/control_egress.h"
#include "node/imaging/imaging_store.h"
#include "node/task_log.h"
#include "privacy/dp/dp_ledger.h"
#include "privacy/dp/rdp_accountant.h"
#include "privacy/egress_ledger.h"

namespace scancov::node {

std::string ClinicalImportSummaryText(const std::string& csv, const ClinicalImportReport& report) {
  std::string text =
      absl::StrFormat("%s: %d rows read, %d patients imported, %d rows skipped\n", csv,
                      report.rows_read, report.patients_imported, report.rows_skipped);
  for (const std::string& n : report.notes) absl::StrAppend(&text, "  dialect: ", n, "\n");
  for (const std::string& e : report.row_errors) absl::StrAppend(&text, "  skipped: ", e, "\n");
  for (const std::string& c : report.dropped_columns) {
    absl::StrAppend(&text, "  identifier column dropped (never stored): ", c, "\n");
  }
  return text;
}

absl::StatusOr<std::string> NodeStatusText(NodeStore& store, const NodeIdentity& node) {
  SCV_ASSIGN_OR_RETURN(int64_t patients, CountClinicalPatients(store));
  SCV_ASSIGN_OR_RETURN(std::vector<CtSeriesRecord> series, ListCtSeries(store));
  SCV_ASSIGN_OR_RETURN(uint64_t sent, privacy::EgressLedger(store.db()).TotalSentBytes());
  SCV_ASSIGN_OR_RETURN(std::vector<TaskLogEntry> tasks, TaskLog(store).Recent(10));
  std::ostringstream out;
  out << "site " << node.site_id << " -> " << node.aggregator << "\n"
      << "store " << node.store << ": " << patients << " patients, " << series.size()
      << " CT series\n"
      << "egress: " << sent << " bytes sent in total (see `scancov-node ledger`)\n"
      << "recent tasks:\n";
  for (const TaskLogEntry& t : tasks) {
    out << "  " << t.task_id << "\t" << t.kind << "\t" << t.state
        << (t.detail.empty() ? "" : "\t" + t.detail) << "\n";
  }
  return out.str();
}

absl::StatusOr<std::string> EgressLedgerText(NodeStore& store, size_t limit) {
  SCV_ASSIGN_OR_RETURN(std::vector<privacy::EgressEntry> entries,
                       privacy::EgressLedger(store.db()).List(limit));
  std::string text;
  for (const privacy::EgressEntry& e : entries) {
    absl::StrAppend(
        &text,
        absl::StrFormat("#%d %s %s -> %s task=%s state=%s bytes=%d sha256=%s\n", e.id,
                        absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(e.created_unix),
                                         absl::UTCTimeZone()),
                        e.kind, e.destination, e.task_id.empty() ? "-" : e.task_id, e.state,
                        e.payload_bytes, e.payload_sha256.empty() ? "-" : e.payload_sha256));
    // The node's own messages in words; a result's statistics as they were sent.
    const std::string control = ControlEntryText(e.kind, e.summary_json);
    if (!control.empty()) {
      absl::StrAppend(&text, "    ", e.kind == kHeartbeatEntry ? "heartbeats" : "fields", ": ",
                      control, "\n");
    } else {
      absl::StrAppend(&text, "    statistics: ", e.summary_json, "\n");
    }
    if (!e.tensors_json.empty()) absl::StrAppend(&text, "    tensors: ", e.tensors_json, "\n");
    if (!e.detail.empty()) absl::StrAppend(&text, "    detail: ", e.detail, "\n");
  }
  return text;
}

absl::StatusOr<std::string> NodeStatusJson(NodeStore& store, const NodeIdentity& node) {
  SCV_ASSIGN_OR_RETURN(int64_t patients, CountClinicalPatients(store));
  SCV_ASSIGN_OR_RETURN(std::vector<CtSeriesRecord> series, ListCtSeries(store));
  SCV_ASSIGN_OR_RETURN(uint64_t sent, privacy::EgressLedger(store.db()).TotalSentBytes());
  SCV_ASSIGN_OR_RETURN(std::vector<TaskLogEntry> tasks, TaskLog(store).Recent(10));
  nlohmann::json recent = nlohmann::json::array();
  for (const TaskLogEntry& t : tasks) {
    recent.push_back({{"task_id", t.task_id},
                      {"kind", t.kind},
                      {"state", t.state},
                      {"started_unix", t.started_unix},
                      {"finished_unix", t.finished_unix},
                      {"detail", t.detail}});
  }
  return nlohmann::json{{"site_id", node.site_id},    {"aggregator", node.aggregator},
                        {"store", node.store},        {"patients", patients},
                        {"ct_series", series.size()}, {"egress_bytes", sent},
                        {"recent_tasks", recent}}
      .dump(2);
}

absl::StatusOr<std::string> EgressLedgerJson(NodeStore& store, size_t limit) {
  SCV_ASSIGN_OR_RETURN(std::vector<privacy::EgressEntry> entries,
                       privacy::EgressLedger(store.db()).List(limit));
  // What was recorded, as JSON again; a record that is not JSON stays a string.
  auto recorded = [](const std::string& text) -> nlohmann::json {
    if (text.empty()) return nullptr;
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    return j.is_discarded() ? nlohmann::json(text) : j;
  };
  nlohmann::json out = nlohmann::json::array();
  for (const privacy::EgressEntry& e : entries) {
    out.push_back({{"id", e.id},
                   {"created_unix", e.created_unix},
                   {"created_utc",
                    absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(e.created_unix),
                                     absl::UTCTimeZone())},
                   {"kind", e.kind},
                   {"destination", e.destination},
                   {"task_id", e.task_id},
                   {"state", e.state},
                   {"detail", e.detail},
                   {"payload_bytes", e.payload_bytes},
                   {"payload_sha256", e.payload_sha256.empty() ? nlohmann::json(nullptr)
                                                               : nlohmann::json(e.payload_sha256)},
                   {"statistics", recorded(e.summary_json)},
                   {"tensors", recorded(e.tensors_json)}});
  }
  return out.dump(2);
}

absl::StatusOr<std::string> BudgetText(NodeStore& store, int64_t max_studies, int64_t max_rounds) {
  CohortGuard guard(&store);
  SCV_ASSIGN_OR_RETURN(std::vector<BudgetUse> use, guard.Use());
  std::string out =
      absl::StrCat("budget per variable set: ", max_studies, " studies, ", max_rounds, " rounds\n");
  if (use.empty()) absl::StrAppend(&out, "  no study has read this site's data yet\n");
  for (const BudgetUse& u : use) {
    const bool spent = u.studies >= max_studies || u.rounds >= max_rounds;
    absl::StrAppend(&out, "  ", u.studies, "/", max_studies, " studies, ", u.rounds, "/",
                    max_rounds, " rounds", spent ? " (spent)" : "", "  outcome '", u.outcome,
                    "', variables ", u.variables.empty() ? "(none)" : u.variables, "\n");
  }
  return out;
}

absl::StatusOr<std::string> DpBudgetText(NodeStore& store, double max_epsilon, double delta) {
  privacy::dp::DpLedger ledger(store.db());
  SCV_ASSIGN_OR_RETURN(std::vector<privacy::dp::DpSpend> spends, ledger.List());
  std::string out = "differential privacy: ";
  if (max_epsilon > 0) {
    absl::StrAppend(&out, "at most epsilon ", absl::StrFormat("%.3g", max_epsilon), " at delta ",
                    absl::StrFormat("%.3g", delta), "\n");
  } else {
    absl::StrAppend(&out, "no maximum epsilon (weights may leave without DP); delta ",
                    absl::StrFormat("%.3g", delta), "\n");
  }
  if (spends.empty()) {
    absl::StrAppend(&out, "  no release under differential privacy yet\n");
    return out;
  }
  std::vector<privacy::dp::DpEvent> events;
  std::map<std::string, int> per_study;
  for (const privacy::dp::DpSpend& s : spends) {
    events.push_back(s.event);
    ++per_study[s.study_id];
  }
  privacy::dp::RdpAccountant accountant;
  SCV_RETURN_IF_ERROR(accountant.ComposeAll(events));
  SCV_ASSIGN_OR_RETURN(privacy::dp::PrivacySpent spent, accountant.GetEpsilon(delta));
  absl::StrAppend(&out, "  spent: epsilon ", absl::StrFormat("%.3f", spent.epsilon), " in ",
                  spends.size(), " releases of ", per_study.size(), " studies",
                  max_epsilon > 0 && spent.epsilon >= max_epsilon ? " (spent)" : "", "\n");
  for (const auto& [study, releases] : per_study) {
    absl::StrAppend(&out, "  study '", study, "': ", releases, " releases\n");
  }
  return out;
}

}  // namespace scancov::node
