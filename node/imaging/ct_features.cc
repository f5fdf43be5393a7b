#include "node/imaging/ct_features.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"
#include "core/volume.h"
#include "models/ct/calcium.h"
#include "models/ct/hu_intervals.h"
#include "models/ct/lung_mask.h"

namespace scancov::node {

const std::vector<std::string>& CtFeatureNames() {
  static const auto* names =
      new std::vector<std::string>{"lung_volume_ml",           "well_aerated_lung_percent",
                                   "ct_ggo_percent",           "ct_semi_consolidation_percent",
                                   "ct_consolidation_percent", "ct_abnormal_percent",
                                   "calcium_volume_mm3"};
  return *names;
}

bool IsCtFeature(const std::string& name) {
  const auto& names = CtFeatureNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

absl::StatusOr<CtFeatures> ComputeCtFeatures(const CtSeries& series, int threads) {
  const HuVolume& hu = series.volume;
  ct::LungMaskOptions mask_options;
  mask_options.threads = threads;
  SCV_ASSIGN_OR_RETURN(ct::LungMaskResult lungs, ct::ComputeLungMask(hu, mask_options));
  if (lungs.right_voxels == 0 || lungs.left_voxels == 0) {
    return absl::FailedPreconditionError("no two lungs found: not a chest CT?");
  }
  SCV_ASSIGN_OR_RETURN(ct::HuIntervalQuantification q,
                       ct::QuantifyHuIntervals(hu, lungs.labels, ct::HuIntervalBounds{}));
  ct::CalciumOptions calcium_options;
  calcium_options.threads = threads;
  absl::StatusOr<ct::CalciumResult> calcium =
      ct::MeasureCardiovascularCalcium(hu, lungs.labels, calcium_options);
  if (!calcium.ok()) return calcium.status();
  CtFeatures f;
  f.series_key = series.series_key;
  f.patient_key = series.patient_key;
  f.slices = hu.nz;
  const ct::HuIntervalStats& b = q.both;
  f.values = {{"lung_volume_ml", b.lung_volume_ml},
              {"well_aerated_lung_percent", b.well_aerated_percent},
              {"ct_ggo_percent", b.ggo_percent},
              {"ct_semi_consolidation_percent", b.semi_consolidation_percent},
              {"ct_consolidation_percent", b.consolidation_percent},
              {"ct_abnormal_percent",
               b.ggo_percent + b.semi_consolidation_percent + b.consolidation_percent},
              {"calcium_volume_mm3", calcium->volume_mm3}};
  return f;
}

absl::Status UpsertCtFeatures(NodeStore& store, const CtFeatures& f) {
  return sqlite::Guard("ct_features: upsert", [&] {
    std::string placeholders;
    for (size_t i = 0; i < CtFeatureNames().size(); ++i) placeholders += ", ?";
    SQLite::Statement q(
        store.db(),
        absl::StrCat("INSERT OR REPLACE INTO ct_features VALUES(?, ?, ?", placeholders, ")"));
    q.bind(1, f.series_key);
    q.bind(2, f.patient_key);
    q.bind(3, f.slices);
    int i = 4;
    for (const std::string& n : CtFeatureNames()) {
      auto it = f.values.find(n);
      if (it == f.values.end()) {
        q.bind(i++);
      } else {
        q.bind(i++, it->second);
      }
    }
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::map<std::string, std::map<std::string, double>>> LoadCtFeaturesByPatient(
    NodeStore& store) {
  using FeaturesByPatient = std::map<std::string, std::map<std::string, double>>;
  return sqlite::Guard("ct_features: load", [&]() -> absl::StatusOr<FeaturesByPatient> {
    FeaturesByPatient out;
    std::map<std::string, int> slices;
    SQLite::Statement q(store.db(), "SELECT * FROM ct_features ORDER BY series_key");
    while (q.executeStep()) {
      sqlite::Row row(q, 1);
      const std::string patient = row.Text();
      const int n = row.Int();
      if (slices.count(patient) && slices[patient] >= n) continue;
      slices[patient] = n;
      std::map<std::string, double>& values = out[patient];
      values.clear();
      for (const std::string& name : CtFeatureNames()) {
        if (std::optional<double> v = row.OptionalDouble()) values[name] = *v;
      }
    }
    return out;
  });
}

}  // namespace scancov::node
