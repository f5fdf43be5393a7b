// The report section of an AI-severity study: its training, PCA and Newton rounds, the
// ensemble's members and fits, and the final round's validation AUC per site and member.
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"

namespace scancov::aggregator {
namespace {

std::string Fmt(double v) { return absl::StrFormat("%.4f", v); }

std::string ResultField(const v1::RoundStatus& r, const char* key) {
  const nlohmann::json j = nlohmann::json::parse(r.result_json(), nullptr, false);
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_string()) return "";
  return j.at(key).get<std::string>();
}

class AiSeverityReport : public ReportSection {
 public:
  // The PCA and Newton rounds come after training: no fixed total to show.
  bool FixedRounds(const v1::StudyStatus&) const override { return false; }
  std::string RoundLabel(const v1::StudyStatus& status, const v1::RoundStatus& r) const override {
    if (r.round() == 0) return "init";
    if (r.round() <= status.spec().rounds()) return absl::StrCat("train ", r.round());
    const std::string phase = ResultField(r, "phase");
    if (phase == "pca") return "federated PCA";
    if (phase == "newton") return "Newton step";
    return "final evaluation";
  }
  std::string Markdown(const v1::StudyStatus& status) const override {
    return AiSeverityMarkdown(status);
  }
};

}  // namespace

std::string AiSeverityMarkdown(const v1::StudyStatus& status) {
  const nlohmann::json spec = nlohmann::json::parse(status.spec().spec_json(), nullptr, false);
  if (!spec.is_object() || status.rounds().empty()) return "";
  const nlohmann::json members =
      spec.contains("encoders") && spec.at("encoders").is_array()
          ? spec.at("encoders")
          : nlohmann::json::array({spec.value("encoder", nlohmann::json::object())});
  std::vector<nlohmann::json> pca(members.size()), fit(members.size());
  for (const v1::RoundStatus& r : status.rounds()) {
    const nlohmann::json j = nlohmann::json::parse(r.result_json(), nullptr, false);
    if (!j.is_object() || !j.contains("members") || !j.at("members").is_array()) continue;
    for (size_t m = 0; m < members.size() && m < j.at("members").size(); ++m) {
      const nlohmann::json& e = j.at("members")[m];
      if (!e.is_object()) continue;
      if (j.value("phase", std::string()) == "pca") pca[m] = e;
      if (e.contains("fit")) fit[m] = e.at("fit");
    }
  }
  std::string md = absl::StrCat(
      "\n## AI-severity ensemble\n\nThe ensemble's probability is the mean of its ", members.size(),
      " member(s)' probabilities.\n\n| member | window | PCA components | ",
      "explained variance | Newton steps | config |\n|---|---|---|---|---|---|\n");
  for (size_t m = 0; m < members.size(); ++m) {
    const nlohmann::json& c = members[m];
    absl::StrAppend(&md, "| m", m, " | ", c.is_object() ? c.value("window", "single") : "?", " | ",
                    pca[m].is_object() ? absl::StrCat(pca[m].value("components", 0)) : "", " | ",
                    pca[m].is_object() ? Fmt(pca[m].value("explained_variance", 0.0)) : "", " | ",
                    fit[m].is_object() ? absl::StrCat(fit[m].value("iterations", 0)) : "", " | `",
                    c.dump(), "` |\n");
  }
  absl::StrAppend(&md, "\nAt the final round each site kept the ensemble's probability for every ",
                  "patient it has a CT for, in its own store: later studies use it as the ",
                  "variable `ai_severity:", status.study_id(),
                  "` (sites: ", absl::StrJoin(status.spec().sites(), ", "),
                  status.spec().evaluation_sites().empty() ? "" : ", ",
                  absl::StrJoin(status.spec().evaluation_sites(), ", "), ").\n");
  const size_t shown = members.size() > 1 ? members.size() : 0;  // per-member AUC columns
  absl::StrAppend(&md, "\nValidation AUC, final round:\n\n| site | n | ensemble |");
  for (size_t m = 0; m < shown; ++m) absl::StrAppend(&md, " m", m, " |");
  md += "\n|---|---|---|";
  for (size_t m = 0; m < shown; ++m) md += "---|";
  md += "\n";
  for (const v1::SiteRoundStatus& s : status.rounds().rbegin()->sites()) {
    const auto metric = [&](const std::string& n) {
      auto it = s.metrics().find(n);
      return it == s.metrics().end() ? std::string() : Fmt(it->second);
    };
    absl::StrAppend(&md, "| ", s.site_id(), " | ", s.num_samples(), " | ", metric("global.val_auc"),
                    " |");
    for (size_t m = 0; m < shown; ++m) {
      absl::StrAppend(&md, " ", metric(absl::StrCat("global.val_auc_m", m)), " |");
    }
    md += "\n";
  }
  return md;
}

SCANCOV_REGISTER_REPORT_SECTION(ai_severity, AiSeverityReport);

}  // namespace scancov::aggregator
