// ROC curves of an external-validation (model_evaluation) study as SVG figures: one for the
// pooled curves and one per site, every model of the study overlaid, the chance diagonal
// drawn, the AUC in the legend, axes 1 - specificity and sensitivity. The curves come from the
// ROC counts at each model's fixed grid (node/tasks/model_evaluation.h), summed over sites for
// the pooled figure (aggregator/studies/model_evaluation_study.cc), as the study's combined
// result gives them (protocol/wire/model_evaluation.h). Pure functions of that result.
#ifndef SCANCOV_AGGREGATOR_ROC_PLOT_H_
#define SCANCOV_AGGREGATOR_ROC_PLOT_H_

#include <string>
#include <utility>
#include <vector>

#include "protocol/wire/model_evaluation.h"

namespace scancov::aggregator {

struct RocSeries {
  std::string label;                              // the model's name
  double auc = 0.0;                               // shown in the legend; NaN to leave it out
  std::vector<std::pair<double, double>> points;  // (1 - specificity, sensitivity)
  int color = -1;  // palette index, so a model keeps its colour across figures; -1: by position
};

// One figure; text is XML-escaped, so any model or site name gives a well-formed document.
std::string RocCurveSvg(const std::string& title, const std::vector<RocSeries>& series);

struct RocFigure {
  std::string file;   // "roc_pooled.svg" or "roc_site_<site>.svg" (site made file-name safe,
                      // with a hash of the id appended when that changed it: names stay unique)
  std::string title;  // "all sites" or the site id
  std::string svg;
};

// The figures of a model_evaluation study's combined result, pooled first, then the sites in
// study order. A model appears where it has a curve (not where the site refused it, or sent
// counts that are not valid ROC counts); a figure without any curve is left out. Legends: the
// site's DeLong AUC per site, the area under the pooled curve for the pooled figure.
std::vector<RocFigure> RocFigures(const wire::EvaluationResult& result);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_ROC_PLOT_H_
