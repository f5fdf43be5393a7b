#include "node/clinical_source.h"

#include <cmath>

#include "core/status_macros.h"
#include "node/clinical/clinical_store.h"

namespace scancov::node {

absl::StatusOr<TabularRows> ClinicalDatasetSource::Load(const std::vector<std::string>& variables,
                                                        const std::string& outcome) {
  SCV_ASSIGN_OR_RETURN(ClinicalDataset data, LoadClinicalDataset(*db_, variables, outcome));
  TabularRows rows;
  rows.keys = std::move(data.pseudonyms);
  rows.columns = std::move(data.variables);
  rows.x.reserve(data.features.size());
  for (size_t i = 0; i < data.features.size(); ++i) {
    rows.x.push_back(data.missing[i] ? NAN : static_cast<double>(data.features[i]));
  }
  rows.y.assign(data.outcome_values.begin(), data.outcome_values.end());
  return rows;
}

}  // namespace scancov::node
