// Study reports for coordinators: Markdown with tables, CSV of every metric, SVG line charts,
// and the raw status as JSON. Pure functions of a StudyStatus (no network, no state), so a
// report can be rebuilt any time from the aggregator's record.
//
// Training studies: round r >= 1 evaluates checkpoint c(r-1) at every site before training
// (metrics "global.*") and reports the local training loss ("local.*"); the last round is an
// evaluation of the final model. Charts plot each global.* metric against the checkpoint it
// measures, for the consortium (sample-weighted) and for each site.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_REPORT_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_REPORT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "protocol/scancov.pb.h"
#include "protocol/wire/model_evaluation.h"
#include "protocol/wire/univariate_association.h"

namespace scancov::aggregator {

std::string StudyReportMarkdown(const v1::StudyStatus& status);
// Columns: round,checkpoint,site,metric,value (site "all" = the sample-weighted combination).
std::string StudyMetricsCsv(const v1::StudyStatus& status);
// One line chart of `metric` per round: the combined value and one line per site.
std::string MetricChartSvg(const v1::StudyStatus& status, const std::string& metric);
// The metric names that appear in any round, sorted.
std::vector<std::string> MetricNames(const v1::StudyStatus& status);

// The report as one self-contained HTML page (report_html.h): a header with the study id, kind,
// state and creation date, a table of contents, the content of StudyReportMarkdown with every
// figure inline. For report.html and for any page that serves a report.
std::string StudyReportHtml(const v1::StudyStatus& status);

// Writes report.md, report.html, metrics.csv, status.json, one <metric>.svg per global.* metric
// and the kind's files (tables, figures) to `dir`.
absl::Status WriteStudyReport(const v1::StudyStatus& status, const std::string& dir);

// The sections of the kinds (report_section.h) that other reports reuse:
// the coefficient table of a converged federated logistic regression study
// (logistic_regression_report.cc);
std::string LogisticFitMarkdown(const v1::StudyStatus& status);
// an AI-severity study's members, fits and final AUCs (ai_severity_report.cc);
std::string AiSeverityMarkdown(const v1::StudyStatus& status);
// external validation: AUC (95% CI) per model and site, high-risk group metrics, log-rank by
// risk group, and one model's pooled KM curves as SVG (model_evaluation_report.cc);
std::string ModelEvaluationMarkdown(const v1::StudyStatus& status);
std::string KaplanMeierSvg(const wire::EvaluationModelResult& model);
// the greedy path, elbow and final model of a model selection (model_selection_report.cc);
std::string ModelSelectionMarkdown(const v1::StudyStatus& status);
// a univariate association table as CSV, as Markdown (the seed's Table 1 shape), and per term
// each site's OR with its CI and the fixed-effect pooled OR on a log axis
// (univariate_association_report.cc).
std::string AssociationTableCsv(const wire::AssociationTable& table);
std::string AssociationTableMarkdown(const wire::AssociationTable& table);
std::string ForestPlotSvg(const wire::AssociationTable& table);

// "running", "done", "failed" ("unknown" otherwise): the word the reports and the live page use.
std::string StudyStateName(v1::StudyState state);

// One line per round for terminal progress: "round 2/3 closed  global.val_auc=0.74 ...".
std::string ProgressLine(const v1::StudyStatus& status);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_REPORT_H_
