// ClinicalDatasetSource: the production DatasetSource, reading the admission rows imported into
// the node's store (node/clinical). Rows are keyed by pseudonym; nothing else identifies
// a patient.
#ifndef SCANCOV_NODE_CLINICAL_SOURCE_H_
#define SCANCOV_NODE_CLINICAL_SOURCE_H_

#include "node/store/node_store.h"
#include "node/tabular_features.h"

namespace scancov::node {

// Variables are the dictionary's admission variables, the node's CT features
// (node/imaging/ct_features.h: NaN for a patient without CT) and the AI-severity probabilities a
// finished AI-severity study left at this site ("ai_severity:<study id>",
// node/ai_severity_scores.h: NaN for a patient it did not score; an error naming the study when
// the site holds none of its scores). Besides the dictionary's outcome
// columns, the derived outcome "death_or_icu" (death or ICU
// admission, the seed's second outcome) is available.
inline constexpr char kDeathOrIcu[] = "death_or_icu";

class ClinicalDatasetSource : public DatasetSource {
 public:
  // `store` must outlive the source.
  explicit ClinicalDatasetSource(NodeStore* store) : store_(store) {}
  absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                   const std::string& outcome) override;

 private:
  NodeStore* store_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CLINICAL_SOURCE_H_
