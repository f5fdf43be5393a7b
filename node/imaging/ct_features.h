// Per-series CT features computed at import on the node (model-free, from HU): lung volume,
// the AI-SCoRE HU-interval fractions inside the lung mask (well-aerated [-950, -780), GGO
// [-780, -570), semi-consolidation [-570, -290), consolidation >= -290; models/ct/hu_intervals.h)
// and the cardiovascular calcium volume (models/ct/calcium.h). Stored in the node's table
// `ct_features` (created by the node store, node/store/node_schema.cc, with one REAL column per
// name below, in this order) and offered to studies as variables joined to the admission rows by
// the patient's pseudonym (node/clinical_source.h):
//
//   lung_volume_ml, well_aerated_lung_percent, ct_ggo_percent, ct_semi_consolidation_percent,
//   ct_consolidation_percent, ct_abnormal_percent (GGO + semi-consolidation + consolidation),
//   calcium_volume_mm3
//
// A patient with several series is represented by the series with the most slices.
#ifndef SCANCOV_NODE_IMAGING_CT_FEATURES_H_
#define SCANCOV_NODE_IMAGING_CT_FEATURES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/imaging/ct_series.h"
#include "node/store/node_store.h"

namespace scancov::node {

struct CtFeatures {
  std::string series_key;
  std::string patient_key;
  int slices = 0;
  std::map<std::string, double> values;  // by the variable names above
};

// The variable names, in a fixed order.
const std::vector<std::string>& CtFeatureNames();
bool IsCtFeature(const std::string& name);

// Lung mask, HU intervals and calcium of one decoded series. FailedPrecondition when no lungs
// are found (e.g. not a chest CT).
absl::StatusOr<CtFeatures> ComputeCtFeatures(const CtSeries& series, int threads = 0);

absl::Status UpsertCtFeatures(NodeStore& store, const CtFeatures& features);
// One row per patient (the series with the most slices): patient key -> feature values.
absl::StatusOr<std::map<std::string, std::map<std::string, double>>> LoadCtFeaturesByPatient(
    NodeStore& store);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_CT_FEATURES_H_
