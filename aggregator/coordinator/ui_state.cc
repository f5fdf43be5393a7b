#include "aggregator/coordinator/ui_state.h"

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;

// The audit actions that are a refusal or a failure (aggregator/server: Audit(...)).
const std::set<std::string>& FailureActions() {
  static const auto* actions =
      new std::set<std::string>{"failure_received", "result_refused", "refused", "secagg_refused"};
  return *actions;
}

// Beyond this many entries, the first read starts from the log's tail.
constexpr int64_t kAuditTail = 500;

std::string DecisionName(v1::DecisionState state) {
  switch (state) {
    case v1::DECISION_STATE_PENDING:
      return "pending";
    case v1::DECISION_STATE_APPROVED:
      return "approved";
    case v1::DECISION_STATE_DENIED:
      return "denied";
    default:
      return "unknown";
  }
}

json SiteJson(const v1::SiteInfo& s) {
  return {{"id", s.site_id()},
          {"name", s.display_name()},
          {"enabled", s.enabled()},
          {"online", s.online()},
          {"last_seen_unix", s.last_seen_unix()},
          {"device", s.device()},
          {"version", s.node_version()},
          {"activity", s.activity()}};
}

// One entry per site the study asks (training and evaluation sites): its decision as the
// aggregator last received it, or "no answer" when none has come.
json ApprovalsJson(const v1::StudyStatus& st) {
  std::vector<std::string> sites(st.spec().sites().begin(), st.spec().sites().end());
  for (const std::string& s : st.spec().evaluation_sites()) sites.push_back(s);
  json out = json::array();
  for (const std::string& site : sites) {
    json a = {{"site", site}, {"state", "no answer"}, {"received_unix", 0}};
    for (const v1::SiteDecision& d : st.decisions()) {
      if (d.site_id() != site) continue;
      a["state"] = DecisionName(d.decision().state());
      a["received_unix"] = d.received_unix();
      a["decided_by"] = d.decision().decided_by();
      a["reason"] = d.decision().reason();
    }
    out.push_back(std::move(a));
  }
  return out;
}

// `label`: the kind's name for the round (report_section.h), e.g. "init", "train 2".
json RoundJson(const v1::RoundStatus& r, const std::string& label) {
  json sites = json::array();
  int submitted = 0;
  for (const v1::SiteRoundStatus& s : r.sites()) {
    submitted += s.state() == "done";
    sites.push_back(
        {{"site", s.site_id()}, {"state", s.state()}, {"num_samples", s.num_samples()}});
  }
  json metrics = json::object();
  for (const auto& [name, value] : r.metrics()) metrics[name] = value;
  return {{"round", r.round()},     {"label", label},
          {"state", r.state()},     {"checkpoint", r.checkpoint_id()},
          {"metrics", metrics},     {"sites", sites},
          {"submitted", submitted}, {"tasks", r.sites_size()}};
}

// A site's task that failed or expired in a round, as a failure line.
void AddRoundFailures(const v1::StudyStatus& st, json& failures) {
  for (const v1::RoundStatus& r : st.rounds()) {
    for (const v1::SiteRoundStatus& s : r.sites()) {
      std::string reason;
      if (s.state() == "failed") reason = "the site reported a failure (see the audit entries)";
      if (s.state() == "expired") reason = "no result before the round's deadline";
      if (reason.empty()) continue;
      failures.push_back({{"at_unix", 0},
                          {"source", "round"},
                          {"study", st.study_id()},
                          {"site", s.site_id()},
                          {"round", r.round()},
                          {"reason", absl::StrCat("task ", s.state(), ": ", reason)}});
    }
  }
}

}  // namespace

json UiState::StudyJson(const v1::StudyStatus& st, bool detailed) {
  const std::string kind = st.spec().study_kind().empty() ? v1::StudyKind_Name(st.spec().kind())
                                                          : st.spec().study_kind();
  // As `scancov-coord watch` counts them (ProgressLine): a training study's rounds are 0 (the
  // initial model) to rounds + 1 (the final evaluation); other kinds' are open-ended (0).
  const ReportSection& section = ReportSectionFor(st);
  json out = {{"id", st.study_id()},
              {"kind", kind},
              {"state", StudyStateName(st.state())},
              {"current_round", st.current_round()},
              {"last_round", section.FixedRounds(st) ? st.spec().rounds() + 1 : 0},
              {"message", st.message()},
              {"created_unix", st.created_unix()},
              {"report", "/studies/" + st.study_id() + "/report"},
              {"detail", detailed},
              {"approvals", ApprovalsJson(st)},
              {"rounds", json::array()}};
  for (const v1::RoundStatus& r : st.rounds()) {
    out["rounds"].push_back(RoundJson(r, section.RoundLabel(st, r)));
  }
  return out;
}

absl::StatusOr<json> UiState::Read() {
  SCV_ASSIGN_OR_RETURN(v1::ListSitesResponse sites, api_->ListSites());
  SCV_ASSIGN_OR_RETURN(v1::ListStudiesResponse list, api_->ListStudies());
  json state = {{"now_unix", absl::ToUnixSeconds(clock_->Now())},
                {"sites", json::array()},
                {"studies", json::array()},
                {"failures", json::array()}};
  for (const v1::SiteInfo& s : sites.sites()) state["sites"].push_back(SiteJson(s));
  std::vector<v1::StudyStatus> studies(list.studies().begin(), list.studies().end());
  std::stable_sort(studies.begin(), studies.end(), [](const auto& a, const auto& b) {
    return a.created_unix() > b.created_unix();
  });
  json& failures = state["failures"];
  for (size_t i = 0; i < studies.size(); ++i) {
    const v1::StudyStatus& summary = studies[i];
    const v1::StudyStatus* shown = &summary;
    absl::StatusOr<v1::StudyStatus> full = absl::UnavailableError("not read");
    if (i < kMaxDetailedStudies) {
      full = Study(summary.study_id());
      if (full.ok()) shown = &*full;
    }
    json study = StudyJson(*shown, shown != &summary);
    if (i < kMaxDetailedStudies && !full.ok())
      study["error"] = std::string(full.status().message());
    state["studies"].push_back(std::move(study));
    if (shown->state() == v1::STUDY_STATE_FAILED) {
      failures.push_back({{"at_unix", 0},
                          {"source", "study"},
                          {"study", shown->study_id()},
                          {"site", ""},
                          {"round", shown->current_round()},
                          {"reason", "study failed: " + shown->message()}});
    }
    AddRoundFailures(*shown, failures);
  }
  ReadAudit(state);
  for (const json& f : audit_failures_) failures.push_back(f);
  std::stable_sort(failures.begin(), failures.end(), [](const json& a, const json& b) {
    return a["at_unix"].get<int64_t>() > b["at_unix"].get<int64_t>();
  });
  return state;
}

json UiState::Snapshot() {
  absl::StatusOr<json> read = Read();
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  if (read.ok()) {
    last_ = std::move(*read);
    stale_since_unix_ = 0;
    last_["aggregator"] = {{"ok", true}, {"error", ""}, {"stale_since_unix", 0}};
    return last_;
  }
  if (stale_since_unix_ == 0) stale_since_unix_ = now;
  json out = last_.is_null() ? json{{"sites", json::array()},
                                    {"studies", json::array()},
                                    {"failures", json::array()},
                                    {"audit", {{"available", false}, {"error", ""}}}}
                             : last_;
  out["now_unix"] = now;
  out["aggregator"] = {{"ok", false},
                       {"error", absl::StrCat(absl::StatusCodeToString(read.status().code()), ": ",
                                              read.status().message())},
                       {"stale_since_unix", stale_since_unix_}};
  return out;
}

absl::StatusOr<v1::StudyStatus> UiState::Study(const std::string& study_id) {
  if (auto it = finished_.find(study_id); it != finished_.end()) return it->second;
  SCV_ASSIGN_OR_RETURN(v1::StudyStatus status, api_->GetStudyStatus(study_id));
  if (status.state() != v1::STUDY_STATE_RUNNING) finished_[study_id] = status;
  return status;
}

void UiState::ReadAudit(json& state) {
  if (!read_audit_) {
    state["audit"] = {{"available", false}, {"error", "the audit log is not read"}};
    return;
  }
  for (int page = 0; page < 8; ++page) {
    absl::StatusOr<v1::ReadAuditResponse> read = read_audit_(std::max<int64_t>(audit_after_, 0));
    if (!read.ok()) {
      state["audit"] = {{"available", false}, {"error", std::string(read.status().message())}};
      return;
    }
    const int64_t last_seq = read->last_seq();
    if (audit_after_ < 0 && last_seq > kAuditTail && read->entries_size() > 0 &&
        read->entries(read->entries_size() - 1).seq() < last_seq - kAuditTail) {
      audit_after_ = last_seq - kAuditTail;  // the first read: only the log's tail
      continue;
    }
    audit_after_ = std::max<int64_t>(audit_after_, 0);
    for (const v1::AuditEntry& e : read->entries()) {
      audit_after_ = std::max(audit_after_, e.seq());
      if (!FailureActions().count(e.action())) continue;
      audit_failures_.push_back({{"at_unix", e.at_unix()},
                                 {"source", "audit"},
                                 {"study", e.study_id()},
                                 {"site", e.site_id().empty() ? e.actor_id() : e.site_id()},
                                 {"round", nullptr},
                                 {"reason", absl::StrCat(e.action(), ": ", e.detail())}});
      if (audit_failures_.size() > kMaxAuditFailures) audit_failures_.pop_front();
    }
    if (read->entries_size() == 0 || audit_after_ >= last_seq) break;
  }
  state["audit"] = {{"available", true}, {"error", ""}};
}

}  // namespace scancov::aggregator
