// The cross-site validation matrix (validation_plan.h) as a heat map: one SVG per outcome, a
// row per model, a column per site, each cell coloured by the model's AUC there (0.5, chance:
// white; 1: dark green; below 0.5: red) and labelled with the AUC and its DeLong 95% CI; "*"
// marks a held-out part of a training site, a cell without an AUC says why (refused, failed) or
// "—" (not evaluated there). Pure functions of the evaluation studies' results.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_VALIDATION_HEATMAP_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_VALIDATION_HEATMAP_H_

#include <string>
#include <vector>

#include "aggregator/coordinator/report_section.h"
#include "aggregator/coordinator/validation_plan.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

// "auc_heatmap_<outcome>.svg", the outcome made file-name safe.
std::string HeatMapFile(const std::string& outcome);

// The heat map of `outcome`; "" when no evaluation study has a result for it.
std::string ValidationHeatMapSvg(const ValidationPlan& plan,
                                 const std::vector<v1::StudyStatus>& evaluations,
                                 const std::string& outcome);

// One file per outcome of the plan that has a heat map (HeatMapFile names).
std::vector<ReportFile> ValidationHeatMaps(const ValidationPlan& plan,
                                           const std::vector<v1::StudyStatus>& evaluations);

// validation.html: the matrix (ValidationMatrixMarkdown) with its heat maps inline, as one
// self-contained page (report_html.h).
std::string ValidationReportHtml(const ValidationPlan& plan,
                                 const std::vector<v1::StudyStatus>& evaluations);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_VALIDATION_HEATMAP_H_
