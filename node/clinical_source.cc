#include "node/clinical_source.h"

#include <cmath>

#include "core/status_macros.h"
#include "node/clinical/clinical_store.h"
#include "node/imaging/ct_features.h"

namespace scancov::node {

absl::StatusOr<TabularRows> ClinicalDatasetSource::Load(const std::vector<std::string>& variables,
                                                        const std::string& outcome) {
  if (outcome == kDeathOrIcu) {
    // The seed's second outcome, derived: rows with a known death status, y = death or ICU.
    std::vector<std::string> with_icu = variables;
    with_icu.push_back("icu");
    SCV_ASSIGN_OR_RETURN(TabularRows rows, Load(with_icu, "death"));
    const size_t c = with_icu.size();
    TabularRows out;
    out.keys = std::move(rows.keys);
    out.columns = variables;
    for (size_t i = 0; i < out.keys.size(); ++i) {
      out.x.insert(out.x.end(), rows.x.begin() + i * c, rows.x.begin() + i * c + c - 1);
      const double icu = rows.x[i * c + c - 1];
      out.y.push_back(rows.y[i] == 1.0 || icu == 1.0 ? 1.0 : 0.0);
    }
    return out;
  }
  // CT features (node/imaging/ct_features.h) come from their own table, joined by pseudonym.
  std::vector<std::string> clinical;
  std::vector<int> ct_column(variables.size(), -1);
  for (size_t j = 0; j < variables.size(); ++j) {
    if (IsCtFeature(variables[j])) {
      ct_column[j] = 1;
    } else {
      clinical.push_back(variables[j]);
    }
  }
  if (clinical.size() != variables.size()) {
    SCV_ASSIGN_OR_RETURN(TabularRows base, Load(clinical, outcome));
    SCV_ASSIGN_OR_RETURN(auto ct, LoadCtFeaturesByPatient(*db_));
    TabularRows rows;
    rows.keys = std::move(base.keys);
    rows.columns = variables;
    rows.y = std::move(base.y);
    const size_t c = clinical.size();
    for (size_t i = 0; i < rows.keys.size(); ++i) {
      auto features = ct.find(rows.keys[i]);
      size_t k = 0;
      for (size_t j = 0; j < variables.size(); ++j) {
        if (ct_column[j] < 0) {
          rows.x.push_back(base.x[i * c + k++]);
          continue;
        }
        double v = NAN;
        if (features != ct.end()) {
          auto it = features->second.find(variables[j]);
          if (it != features->second.end()) v = it->second;
        }
        rows.x.push_back(v);
      }
    }
    return rows;
  }
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
