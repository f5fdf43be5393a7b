#include "node/egress_check.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/progress.h"
#include "node/control_egress.h"
#include "protocol/failure_code.h"

namespace scancov::node {
namespace {

using nlohmann::json;

// Keys whose integer values count patients (or events, or scans).
bool IsCountKey(const std::string& key) {
  static const std::set<std::string> kCounts = {
      "n",     "num_samples", "events",        "non_events", "tp",     "fp",      "tn",
      "fn",    "at_risk",     "censored",      "patients",   "deaths", "missing", "present",
      "count", "counts",      "not_computable"};
  if (absl::StrContains(key, "withheld") || absl::StrContains(key, "site")) return false;
  std::string last = key.substr(key.rfind('.') + 1);  // "global.n_val" -> "n_val"
  return kCounts.count(last) > 0 || absl::StartsWith(last, "n_");
}

// A name, a code or an identifier: no spaces beyond a few words, no sentence.
bool IsName(const std::string& s) {
  if (s.size() > 64) return false;
  int spaces = 0;
  for (char c : s) spaces += c == ' ';
  return spaces <= 3;
}

// A kind's fixed refusal sentence ("fewer than 10 events or non-events"): short, and its only
// numbers are the minimum count.
bool IsTemplateReason(const std::string& s, int64_t min_count) {
  if (s.size() > 160) return false;
  const std::string min = std::to_string(min_count);
  for (size_t i = 0; i < s.size();) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (s.substr(i, j - i) != min) return false;
    i = j;
  }
  return true;
}

void Walk(const json& j, const std::string& where, bool count_context, int64_t min_count,
          const privacy::EgressEntry& entry, EgressCheck& out) {
  const auto finding = [&](const std::string& what) {
    out.findings.push_back({entry.id, entry.task_id, where, what});
  };
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      Walk(v, where.empty() ? k : where + "." + k, IsCountKey(k), min_count, entry, out);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      Walk(j[i], absl::StrCat(where, "[", i, "]"), count_context, min_count, entry, out);
    }
  } else if (j.is_number() && count_context) {
    const double v = j.get<double>();
    ++out.counts_checked;
    if (v != 0 && v < static_cast<double>(min_count)) {
      finding(absl::StrCat("count ", v, " below the minimum ", min_count));
    }
  } else if (j.is_string() && !IsName(j.get<std::string>())) {
    if (IsTemplateReason(j.get<std::string>(), min_count)) {
      ++out.template_reasons;
    } else {
      finding("free text");
    }
  }
}

// A heartbeat entry (node/control_egress.h): its known fields only, and stages no longer than
// a Progress text (core/progress.h ReleasedText: a stage, an outer count and an ETA).
void CheckHeartbeats(const json& summary, const privacy::EgressEntry& e, EgressCheck& out) {
  static const std::set<std::string> kFields = {"fields",
                                                "interval_s",
                                                "beats",
                                                "errors",
                                                "bytes",
                                                "first_unix",
                                                "last_unix",
                                                "stages",
                                                "stages_not_listed",
                                                "progress",
                                                "progress_not_listed"};
  for (const auto& [k, v] : summary.items()) {
    if (kFields.count(k) == 0) out.findings.push_back({e.id, e.task_id, k, "unexpected field"});
  }
  const json stages = summary.value("stages", json::array());
  for (size_t i = 0; i < stages.size(); ++i) {
    if (!stages[i].is_string() || stages[i].get<std::string>().size() > Progress::kMaxText) {
      out.findings.push_back(
          {e.id, e.task_id, absl::StrCat("stages[", i, "]"),
           absl::StrCat("not a progress text of at most ", Progress::kMaxText, " characters")});
    }
  }
}

// A register entry: the RegisterRequest's fields, each a name or a version.
void CheckRegister(const json& summary, const privacy::EgressEntry& e, EgressCheck& out) {
  static const std::set<std::string> kFields = {"protocol_version", "node_version", "device"};
  for (const auto& [k, v] : summary.items()) {
    if (kFields.count(k) == 0) {
      out.findings.push_back({e.id, e.task_id, k, "unexpected field"});
    } else if (!v.is_string() || !IsName(v.get<std::string>())) {
      out.findings.push_back({e.id, e.task_id, k, "not a name or a version"});
    }
  }
}

// A decision report: the StudyDecision's fields. The steward's reason is free text that leaves
// as typed: a digit in it is shown, to check that it is not a count from the site's rows.
void CheckDecision(const json& summary, const privacy::EgressEntry& e, EgressCheck& out) {
  static const std::set<std::string> kFields = {"study_id",   "spec_sha256", "state",
                                                "decided_by", "reason",      "decided_unix"};
  for (const auto& [k, v] : summary.items()) {
    if (kFields.count(k) == 0) out.findings.push_back({e.id, e.task_id, k, "unexpected field"});
  }
  const json reason = summary.value("reason", json(""));
  if (!reason.is_string()) {
    out.findings.push_back({e.id, e.task_id, "reason", "not text"});
  } else if (reason.get<std::string>().find_first_of("0123456789") != std::string::npos) {
    out.findings.push_back({e.id, e.task_id, "reason",
                            "the steward's reason holds a number: check it is not a count"});
  }
}

}  // namespace

EgressCheck CheckEgress(const std::vector<privacy::EgressEntry>& entries, int64_t min_count) {
  EgressCheck out;
  for (const privacy::EgressEntry& e : entries) {
    ++out.entries;
    const json summary = json::parse(e.summary_json, nullptr, false);
    if (summary.is_discarded() || !summary.is_object()) {
      out.findings.push_back({e.id, e.task_id, "", "statistics that are not a JSON object"});
      continue;
    }
    if (e.kind == "failure") {
      ++out.failures;
      if (summary.size() != 1 || !summary.contains("failure") || !summary["failure"].is_string() ||
          !protocol::IsFailureReport(summary["failure"].get<std::string>())) {
        out.findings.push_back({e.id, e.task_id, "failure", "not a failure code"});
      }
      continue;
    }
    if (e.kind == kHeartbeatEntry) {
      ++out.heartbeats;
      CheckHeartbeats(summary, e, out);
      continue;
    }
    if (e.kind == kRegisterEntry) {
      ++out.registrations;
      CheckRegister(summary, e, out);
      continue;
    }
    if (e.kind == kDecisionEntry) {
      ++out.decisions;
      CheckDecision(summary, e, out);
      continue;
    }
    if (e.kind == "result") ++out.results;
    Walk(summary, "", false, min_count, e, out);
  }
  return out;
}

std::string EgressCheckText(const EgressCheck& check, int64_t min_count) {
  std::string text =
      absl::StrCat(check.entries, " entries (", check.results, " results, ", check.failures,
                   " failures, ", check.heartbeats, " heartbeat summaries, ", check.registrations,
                   " registrations, ", check.decisions, " decision reports), ",
                   check.counts_checked, " counts checked against the minimum ", min_count, ", ",
                   check.template_reasons, " refusal sentences with no number but the minimum: ");
  if (check.findings.empty()) return text + "no finding\n";
  absl::StrAppend(&text, check.findings.size(), " finding(s)\n");
  for (const EgressFinding& f : check.findings) {
    absl::StrAppend(&text, "  #", f.entry_id, " task=", f.task_id, " ", f.where, ": ", f.what,
                    "\n");
  }
  return text;
}

}  // namespace scancov::node
