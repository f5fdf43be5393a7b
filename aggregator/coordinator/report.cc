#include "aggregator/coordinator/report.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "aggregator/coordinator/report_html.h"
#include "aggregator/coordinator/report_section.h"
#include "core/file_util.h"
#include "core/number_format.h"
#include "core/status_macros.h"
#include "core/xml_escape.h"
#include "protocol/study_kind.h"

namespace scancov::aggregator {
namespace {

bool IsAnalysis(const v1::StudyStatus& status) {
  return status.spec().kind() == v1::STUDY_KIND_ANALYSIS;
}

const char* DecisionWord(v1::DecisionState s) {
  switch (s) {
    case v1::DECISION_STATE_APPROVED:
      return "approved";
    case v1::DECISION_STATE_DENIED:
      return "**denied**";
    case v1::DECISION_STATE_PENDING:
      return "awaiting the steward";
    default:
      return "unknown";
  }
}

std::string RoundLabel(const v1::StudyStatus& status, const v1::RoundStatus& r) {
  return ReportSectionFor(status).RoundLabel(status, r);
}

std::string Fmt(double v) { return HumanNumber(v); }

// Series: x (round) -> value, per line name.
using Series = std::map<std::string, std::map<uint32_t, double>>;

Series CollectSeries(const v1::StudyStatus& status, const std::string& metric) {
  Series series;
  for (const v1::RoundStatus& r : status.rounds()) {
    auto it = r.metrics().find(metric);
    if (it != r.metrics().end()) series["all sites"][r.round()] = it->second;
    for (const v1::SiteRoundStatus& s : r.sites()) {
      auto st = s.metrics().find(metric);
      if (st != s.metrics().end()) series[s.site_id()][r.round()] = st->second;
    }
  }
  return series;
}

// The charts of the global.* metrics (the per-round training curves), one file per metric.
std::vector<ReportFile> MetricCharts(const v1::StudyStatus& status) {
  std::vector<ReportFile> charts;
  for (const std::string& n : MetricNames(status)) {
    if (n.rfind("global.", 0) != 0 || n == "global.n_val") continue;
    charts.push_back({n + ".svg", MetricChartSvg(status, n)});
  }
  return charts;
}

}  // namespace

std::string StudyStateName(v1::StudyState s) {
  switch (s) {
    case v1::STUDY_STATE_RUNNING:
      return "running";
    case v1::STUDY_STATE_DONE:
      return "done";
    case v1::STUDY_STATE_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

std::vector<std::string> MetricNames(const v1::StudyStatus& status) {
  std::set<std::string> names;
  for (const v1::RoundStatus& r : status.rounds()) {
    for (const auto& [k, v] : r.metrics()) names.insert(k);
  }
  return {names.begin(), names.end()};
}

std::string ProgressLine(const v1::StudyStatus& status) {
  const bool open_ended = !ReportSectionFor(status).FixedRounds(status);
  std::string line = open_ended
                         ? absl::StrFormat("study %s: %s, round %d", status.study_id(),
                                           StudyStateName(status.state()), status.current_round())
                         : absl::StrFormat("study %s: %s, round %d of %d", status.study_id(),
                                           StudyStateName(status.state()), status.current_round(),
                                           status.spec().rounds() + 1);
  for (auto it = status.rounds().rbegin(); it != status.rounds().rend(); ++it) {
    if (it->state() != "closed" || it->metrics().empty()) continue;
    absl::StrAppend(&line, " | last closed: ", RoundLabel(status, *it));
    for (const auto& [k, v] :
         std::map<std::string, double>(it->metrics().begin(), it->metrics().end())) {
      if (k.rfind("global.val_", 0) == 0 || k == "local.train_loss_end") {
        absl::StrAppend(&line, " ", k, "=", Fmt(v));
      }
    }
    break;
  }
  if (!status.message().empty() && status.state() != v1::STUDY_STATE_DONE) {
    absl::StrAppend(&line, " (", status.message(), ")");
  }
  std::vector<std::string> awaiting, denied;
  for (const v1::SiteDecision& d : status.decisions()) {
    if (d.decision().state() == v1::DECISION_STATE_PENDING) awaiting.push_back(d.site_id());
    if (d.decision().state() == v1::DECISION_STATE_DENIED) denied.push_back(d.site_id());
  }
  if (!awaiting.empty()) {
    absl::StrAppend(&line, " [awaiting approval at ", absl::StrJoin(awaiting, ", "), "]");
  }
  if (!denied.empty()) absl::StrAppend(&line, " [denied at ", absl::StrJoin(denied, ", "), "]");
  return line;
}

std::string StudyMetricsCsv(const v1::StudyStatus& status) {
  std::string csv = "round,checkpoint,site,metric,value\n";
  for (const v1::RoundStatus& r : status.rounds()) {
    std::map<std::string, double> combined(r.metrics().begin(), r.metrics().end());
    for (const auto& [k, v] : combined) {
      absl::StrAppend(&csv, r.round(), ",", r.checkpoint_id(), ",all,", k, ",", ExactNumber(v),
                      "\n");
    }
    for (const v1::SiteRoundStatus& s : r.sites()) {
      std::map<std::string, double> site(s.metrics().begin(), s.metrics().end());
      for (const auto& [k, v] : site) {
        absl::StrAppend(&csv, r.round(), ",", r.checkpoint_id(), ",", s.site_id(), ",", k, ",",
                        ExactNumber(v), "\n");
      }
    }
  }
  return csv;
}

std::string MetricChartSvg(const v1::StudyStatus& status, const std::string& metric) {
  const Series series = CollectSeries(status, metric);
  constexpr double kW = 640, kH = 360, kLeft = 60, kRight = 150, kTop = 30, kBottom = 40;
  double lo = INFINITY, hi = -INFINITY;
  uint32_t max_round = 1;
  for (const auto& [name, points] : series) {
    for (const auto& [x, y] : points) {
      lo = std::min(lo, y);
      hi = std::max(hi, y);
      max_round = std::max(max_round, x);
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  auto px = [&](double x) {
    return kLeft + (x - 1) / std::max(1u, max_round - 1) * (kW - kLeft - kRight);
  };
  auto py = [&](double y) { return kTop + (hi - y) / (hi - lo) * (kH - kTop - kBottom); };
  static const char* kColors[] = {"#000000", "#1f77b4", "#ff7f0e", "#2ca02c",
                                  "#d62728", "#9467bd", "#8c564b", "#e377c2"};
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n<text x=\"%.0f\" y=\"18\" font-size=\"14\">%s per round (study "
      "%s)</text>\n",
      kW, kH, kLeft, XmlEscape(metric), XmlEscape(status.study_id()));
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#444\"/>\n"
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#444\"/>\n",
                        kLeft, kH - kBottom, kW - kRight, kH - kBottom, kLeft, kTop, kLeft,
                        kH - kBottom);
  for (int i = 0; i <= 4; ++i) {
    const double y = lo + (hi - lo) * i / 4;
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>\n",
                          kLeft - 6, py(y) + 4, y);
  }
  for (uint32_t x = 1; x <= max_round; ++x) {
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n",
                          px(x), kH - kBottom + 16, x);
  }
  absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">round</text>\n",
                        (kLeft + kW - kRight) / 2, kH - 6);
  int color = 0, legend = 0;
  for (const auto& [name, points] : series) {
    const char* c = kColors[color++ % 8];
    std::vector<std::string> coords;
    for (const auto& [x, y] : points) coords.push_back(absl::StrFormat("%.1f,%.1f", px(x), py(y)));
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%d\" "
                          "points=\"%s\"/>\n",
                          c, name == "all sites" ? 3 : 1, absl::StrJoin(coords, " "));
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n",
                          kW - kRight + 10, kTop + 16.0 * legend++, c, XmlEscape(name));
  }
  svg += "</svg>\n";
  return svg;
}

std::string StudyReportMarkdown(const v1::StudyStatus& status) {
  const v1::StudySpec& spec = status.spec();
  std::string md = absl::StrCat("# Study `", status.study_id(), "`\n\n");
  const std::string state = StudyStateName(status.state());
  absl::StrAppend(&md, "- state: **", state, "**",
                  status.message().empty() || status.message() == state
                      ? ""
                      : absl::StrCat(" (", status.message(), ")"),
                  "\n");
  absl::StrAppend(&md, "- sites: ", absl::StrJoin(spec.sites(), ", "), " (", spec.min_sites(),
                  " needed to close a round at its deadline)\n");
  if (spec.evaluation_sites_size() > 0) {
    absl::StrAppend(&md, "- held-out sites (final evaluation only, all their data): ",
                    absl::StrJoin(spec.evaluation_sites(), ", "), "\n");
  }
  if (IsAnalysis(status)) {
    absl::StrAppend(&md, "- analysis: `", spec.spec_json(), "`\n\n");
  } else {
    absl::StrAppend(&md, "- model: `", spec.plan().model(), "`, ", spec.rounds(), " rounds of ",
                    spec.plan().local_epochs(), " local epoch(s), learning rate ",
                    spec.plan().learning_rate(), ", batch ", spec.plan().batch_size(), ", seed ",
                    spec.plan().seed(), "\n");
    absl::StrAppend(&md, "- aggregation: `", spec.strategy(), "`",
                    spec.plan().proximal_mu() > 0
                        ? absl::StrCat(" with FedProx mu = ", spec.plan().proximal_mu())
                        : "",
                    "\n\n");
  }
  if (!status.decisions().empty()) {
    absl::StrAppend(&md, "## Site decisions\n\nEach site's steward (or a pre-approval rule of the ",
                    "site) decides whether the study runs there.\n\n| site | decision | by | ",
                    "reason | spec sha256 |\n|---|---|---|---|---|\n");
    for (const v1::SiteDecision& d : status.decisions()) {
      const v1::StudyDecision& e = d.decision();
      absl::StrAppend(&md, "| ", d.site_id(), " | ", DecisionWord(e.state()), " | ", e.decided_by(),
                      " | ", e.reason(), " | `", e.spec_sha256().substr(0, 12), "` |\n");
    }
    md += "\n";
  }
  const std::vector<std::string> names = MetricNames(status);
  absl::StrAppend(&md, "## Rounds\n\n`global.*` measures the model received at the start of ",
                  "the round on each site's validation split (combined: weighted by validation ",
                  "size); `local.*` the site's own training (weighted by training size); ",
                  "`*.n_*` are counts, summed.\n\n");
  absl::StrAppend(&md, "| round | what | state | sites | checkpoint |");
  for (const std::string& n : names) absl::StrAppend(&md, " ", n, " |");
  md += "\n|---|---|---|---|---|";
  for (size_t i = 0; i < names.size(); ++i) md += "---|";
  md += "\n";
  for (const v1::RoundStatus& r : status.rounds()) {
    int done = 0;
    for (const v1::SiteRoundStatus& s : r.sites()) done += s.state() == "done";
    absl::StrAppend(&md, "| ", r.round(), " | ", RoundLabel(status, r), " | ", r.state(), " | ",
                    done, "/", r.sites_size(), " | ", r.checkpoint_id(), " |");
    for (const std::string& n : names) {
      auto it = r.metrics().find(n);
      absl::StrAppend(&md, " ", it == r.metrics().end() ? "" : Fmt(it->second), " |");
    }
    md += "\n";
  }
  if (!status.rounds().empty()) {
    const v1::RoundStatus& last = *status.rounds().rbegin();
    absl::StrAppend(&md, "\n## Per site, round ", last.round(), " (", RoundLabel(status, last),
                    ")\n\n| site | state | n |");
    for (const std::string& n : names) absl::StrAppend(&md, " ", n, " |");
    md += "\n|---|---|---|";
    for (size_t i = 0; i < names.size(); ++i) md += "---|";
    md += "\n";
    for (const v1::SiteRoundStatus& s : last.sites()) {
      absl::StrAppend(&md, "| ", s.site_id(), " | ", s.state(), " | ", s.num_samples(), " |");
      for (const std::string& n : names) {
        auto it = s.metrics().find(n);
        absl::StrAppend(&md, " ", it == s.metrics().end() ? "" : Fmt(it->second), " |");
      }
      md += "\n";
    }
  }
  bool charts = false;
  for (const std::string& n : names) {
    if (n.rfind("global.", 0) != 0 || n == "global.n_val") continue;
    if (!charts) absl::StrAppend(&md, "\n## Charts\n\n");
    charts = true;
    absl::StrAppend(&md, "![", n, "](", n, ".svg)\n\n");
  }
  absl::StrAppend(&md, ReportSectionFor(status).Markdown(status));
  absl::StrAppend(&md, "\nFiles: `metrics.csv` (every metric, per site and combined), ",
                  "`status.json` (the aggregator's full record of the study).\n");
  return md;
}

absl::Status WriteStudyReport(const v1::StudyStatus& status, const std::string& dir) {
  SCV_RETURN_IF_ERROR(MakeDirs(dir));
  SCV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/report.md", StudyReportMarkdown(status)));
  SCV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/metrics.csv", StudyMetricsCsv(status)));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(status, &json, options).ok()) {
    return absl::InternalError("report: cannot serialise the study status");
  }
  SCV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/status.json", json));
  for (const ReportFile& f : MetricCharts(status)) {
    SCV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + f.name, f.content));
  }
  SCV_ASSIGN_OR_RETURN(std::vector<ReportFile> files, ReportSectionFor(status).Files(status));
  for (const ReportFile& f : files) {
    SCV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + f.name, f.content));
  }
  return WriteFileAtomic(dir + "/report.html", StudyReportHtml(status));
}

std::string StudyReportHtml(const v1::StudyStatus& status) {
  HtmlPage page;
  page.title = absl::StrCat("Study ", status.study_id());
  absl::StatusOr<protocol::StudyKind> kind = protocol::StudyKindOf(status.spec());
  const std::string state = StudyStateName(status.state());
  page.facts = {{"study", status.study_id()},
                {"kind", kind.ok() ? std::string(protocol::StudyKindName(*kind)) : "unknown"},
                {"state", status.message().empty() || status.message() == state
                              ? state
                              : absl::StrCat(state, " (", status.message(), ")")},
                {"created", status.created_unix() > 0
                                ? absl::FormatTime("%Y-%m-%d %H:%M UTC",
                                                   absl::FromUnixSeconds(status.created_unix()),
                                                   absl::UTCTimeZone())
                                : "not recorded"},
                {"sites", absl::StrJoin(status.spec().sites(), ", ")}};
  page.markdown = StudyReportMarkdown(status);
  page.figures = MetricCharts(status);
  // A kind whose result does not read has no figures (its section says why).
  absl::StatusOr<std::vector<ReportFile>> files = ReportSectionFor(status).Files(status);
  if (files.ok()) {
    for (ReportFile& f : *files) {
      if (absl::EndsWith(f.name, ".svg")) page.figures.push_back(std::move(f));
    }
  }
  return RenderHtmlPage(page);
}

}  // namespace scancov::aggregator
