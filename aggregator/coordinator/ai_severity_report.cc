// The report section of an AI-severity study: its training, PCA and Newton rounds, the
// ensemble's members and fits, and the final round's validation AUC per site and member. The
// spec and the rounds' results are read through protocol/wire/ai_severity.h.
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"
#include "core/number_format.h"
#include "protocol/wire/ai_severity.h"

namespace scancov::aggregator {
namespace {

std::string Fmt(double v) { return HumanNumber(v); }

std::string Phase(const v1::RoundStatus& r) {
  absl::StatusOr<wire::AiSeverityRound> round = wire::ParseAiSeverityRound(r.result_json());
  return round.ok() ? round->phase : "";
}

// A member's config as the object it is ({} for the default config).
nlohmann::json Config(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

class AiSeverityReport : public ReportSection {
 public:
  // The PCA and Newton rounds come after training: no fixed total to show.
  bool FixedRounds(const v1::StudyStatus&) const override { return false; }
  std::string RoundLabel(const v1::StudyStatus& status, const v1::RoundStatus& r) const override {
    if (r.round() == 0) return "init";
    if (r.round() <= status.spec().rounds()) return absl::StrCat("train ", r.round());
    const std::string phase = Phase(r);
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
  absl::StatusOr<wire::AiSeveritySpec> spec = wire::ParseAiSeveritySpec(status.spec().spec_json());
  if (!spec.ok() || status.rounds().empty()) return "";
  const size_t members = spec->encoders.size();
  std::vector<const wire::AiSeverityPcaMember*> pca(members, nullptr);
  std::vector<const wire::AiSeverityFit*> fit(members, nullptr);
  std::vector<wire::AiSeverityRound> rounds;
  for (const v1::RoundStatus& r : status.rounds()) {
    absl::StatusOr<wire::AiSeverityRound> round = wire::ParseAiSeverityRound(r.result_json());
    if (round.ok()) rounds.push_back(*std::move(round));
  }
  for (const wire::AiSeverityRound& round : rounds) {
    for (size_t m = 0; m < members && m < round.pca.size(); ++m) pca[m] = &round.pca[m];
    for (size_t m = 0; m < members && m < round.newton.size(); ++m) {
      if (round.newton[m].fit.has_value()) fit[m] = &*round.newton[m].fit;
    }
  }
  std::string md =
      absl::StrCat("\n## AI-severity ensemble\n\nThe ensemble's probability is the mean of its ",
                   members, " member(s)' probabilities.\n\n| member | window | PCA components | ",
                   "explained variance | Newton steps | config |\n|---|---|---|---|---|---|\n");
  for (size_t m = 0; m < members; ++m) {
    const nlohmann::json c = Config(spec->encoders[m]);
    absl::StrAppend(&md, "| m", m, " | ", c.value("window", "single"), " | ",
                    pca[m] ? absl::StrCat(pca[m]->components) : "", " | ",
                    pca[m] ? Fmt(pca[m]->explained_variance) : "", " | ",
                    fit[m] ? absl::StrCat(fit[m]->iterations) : "", " | `", c.dump(), "` |\n");
  }
  absl::StrAppend(&md, "\nAt the final round each site kept the ensemble's probability for every ",
                  "patient it has a CT for, in its own store: later studies use it as the ",
                  "variable `ai_severity:", status.study_id(),
                  "` (sites: ", absl::StrJoin(status.spec().sites(), ", "),
                  status.spec().evaluation_sites().empty() ? "" : ", ",
                  absl::StrJoin(status.spec().evaluation_sites(), ", "), ").\n");
  const size_t shown = members > 1 ? members : 0;  // per-member AUC columns
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
    absl::StrAppend(&md, "| ", s.site_id(), " | ", s.num_samples(), " | ",
                    metric(wire::kAiSeverityValAuc), " |");
    for (size_t m = 0; m < shown; ++m) {
      absl::StrAppend(&md, " ",
                      metric(wire::AiSeverityMemberMetric(
                          wire::kAiSeverityValAuc, static_cast<int>(m), static_cast<int>(members))),
                      " |");
    }
    md += "\n";
  }
  return md;
}

SCANCOV_REGISTER_REPORT_SECTION(ai_severity, AiSeverityReport);

}  // namespace scancov::aggregator
