#include "node/clinical_source.h"

#include <cmath>
#include <map>

#include "core/status_macros.h"
#include "node/ai_severity_scores.h"
#include "node/clinical/clinical_store.h"
#include "node/imaging/ct_features.h"
#include "protocol/ids.h"

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
  // CT features (node/imaging/ct_features.h) and AI-severity scores (node/ai_severity_scores.h)
  // come from their own tables, joined by pseudonym: variable -> patient -> value.
  std::vector<std::string> clinical;
  std::map<std::string, std::map<std::string, double>> derived;
  for (const std::string& v : variables) {
    if (IsCtFeature(v) || protocol::IsAiSeverityVariable(v)) {
      derived[v];
    } else {
      clinical.push_back(v);
    }
  }
  if (!derived.empty()) {
    SCV_ASSIGN_OR_RETURN(TabularRows base, Load(clinical, outcome));
    std::map<std::string, std::map<std::string, double>> ct;
    for (auto& [name, by_patient] : derived) {
      if (protocol::IsAiSeverityVariable(name)) {
        SCV_ASSIGN_OR_RETURN(by_patient,
                             LoadAiSeverityScores(*store_, protocol::AiSeverityStudyOf(name)));
        continue;
      }
      if (ct.empty()) {
        SCV_ASSIGN_OR_RETURN(ct, LoadCtFeaturesByPatient(*store_));
      }
      for (const auto& [patient, features] : ct) {
        auto it = features.find(name);
        if (it != features.end()) by_patient[patient] = it->second;
      }
    }
    TabularRows rows;
    rows.keys = std::move(base.keys);
    rows.columns = variables;
    rows.y = std::move(base.y);
    const size_t c = clinical.size();
    for (size_t i = 0; i < rows.keys.size(); ++i) {
      size_t k = 0;
      for (const std::string& v : variables) {
        auto d = derived.find(v);
        if (d == derived.end()) {
          rows.x.push_back(base.x[i * c + k++]);
          continue;
        }
        auto it = d->second.find(rows.keys[i]);
        rows.x.push_back(it == d->second.end() ? NAN : it->second);
      }
    }
    return rows;
  }
  SCV_ASSIGN_OR_RETURN(ClinicalDataset data, LoadClinicalDataset(*store_, variables, outcome));
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
