// Per-patient AI-severity probabilities, kept in the node's store and never sent anywhere.
//
// The final evaluation of an AI-severity study (node/severity_runner.h) scores every patient of
// the site who has a CT series, under the study's finished model (the ensemble's mean
// probability), and stores the probabilities here under the study's id. Later studies then use
// them as an input variable named "ai_severity:<study id>" (protocol/ids.h), joined to the
// admission rows by pseudonym like the CT features (node/clinical_source.h): the seed's
// trimodal "+ AI-severity" models. A patient without a score (no CT, or no usable lungs) is
// missing for that variable.
//
// Table ai_severity_scores(study_id, patient_key, probability, model_digest, scored_at), created
// by the node store (node/store/node_schema.cc): one row
// per (study, patient); a study's rows are replaced as a whole when it is scored again, so a
// retried evaluation leaves exactly one model's scores. model_digest is the SHA-256 of the
// checkpoint the scores come from (protocol/weights_codec.h), for provenance.
#ifndef SCANCOV_NODE_AI_SEVERITY_SCORES_H_
#define SCANCOV_NODE_AI_SEVERITY_SCORES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/store/node_store.h"
#include "protocol/ids.h"

namespace scancov::node {

struct AiSeverityScore {
  std::string patient_key;
  double probability = 0;  // in [0, 1]
};

// Replaces the study's scores with `scores` in one transaction. A probability that is not in
// [0, 1] is refused (nothing is written).
absl::Status SaveAiSeverityScores(NodeStore& store, const std::string& study_id,
                                  const std::string& model_digest,
                                  const std::vector<AiSeverityScore>& scores);

// The study's scores by patient key; FailedPrecondition naming the study when the site holds
// none (the study has not finished its evaluation here, or this site was not in it).
absl::StatusOr<std::map<std::string, double>> LoadAiSeverityScores(NodeStore& store,
                                                                   const std::string& study_id);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_AI_SEVERITY_SCORES_H_
