// The store-backed SeveritySource (severity_runner.h): one series per patient (the one with the
// most slices), the outcome from the admission rows (-1 when unknown). Nothing is read from the
// volume cache here: each patient's loader reads its volume and computes the model-free lung
// mask when the runner prepares that scan's slices, so the site never holds all its CTs at once.
#include <map>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/ct/lung_mask.h"
#include "node/clinical_source.h"
#include "node/imaging/imaging_store.h"
#include "node/imaging/volume_cache.h"
#include "node/tasks/severity_runner.h"

namespace scancov::node {
namespace {

class StoreSeveritySource : public SeveritySource {
 public:
  StoreSeveritySource(NodeStore* store, std::string cache_dir)
      : store_(store), cache_(std::move(cache_dir)) {}

  absl::StatusOr<std::vector<SeverityPatient>> Load(const std::string& outcome) override {
    ClinicalDatasetSource clinical(store_);
    SCV_ASSIGN_OR_RETURN(TabularRows rows, clinical.Load({"age"}, outcome));
    std::map<std::string, int> label;
    for (size_t i = 0; i < rows.keys.size(); ++i) label[rows.keys[i]] = static_cast<int>(rows.y[i]);
    SCV_ASSIGN_OR_RETURN(std::vector<CtSeriesRecord> series, ListCtSeries(*store_));
    std::map<std::string, CtSeriesRecord> best;  // patient -> series with most slices
    for (const CtSeriesRecord& r : series) {
      auto it = best.find(r.patient_key);
      if (it == best.end() || r.nz > it->second.nz) best[r.patient_key] = r;
    }
    std::vector<SeverityPatient> out;
    for (const auto& [patient, record] : best) {
      auto l = label.find(patient);  // unknown outcome: scored at the end, never trained on
      SeverityPatient p;
      p.patient_key = patient;
      p.scan_id = record.series_key + "@" + record.fingerprint;
      p.label = l == label.end() ? -1 : l->second;
      p.load = [this, key = record.series_key, fingerprint = record.fingerprint]() {
        return ReadScan(key, fingerprint);
      };
      out.push_back(std::move(p));
    }
    return out;
  }

 private:
  // The cached volume and its lungs; errors say what is missing, never a value.
  absl::StatusOr<nn::SeverityScan> ReadScan(const std::string& series_key,
                                            const std::string& fingerprint) const {
    absl::StatusOr<CtSeries> cached = cache_.Load(series_key, fingerprint);
    if (!cached.ok()) {
      return absl::NotFoundError(absl::StrCat("series ", series_key.substr(0, 12),
                                              ": not in the volume cache (",
                                              cached.status().message(), ")"));
    }
    nn::SeverityScan scan;
    scan.ct = std::move(cached->volume);
    SCV_ASSIGN_OR_RETURN(ct::LungMaskResult lungs, ct::ComputeLungMask(scan.ct));
    if (lungs.right_voxels + lungs.left_voxels == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("series ", series_key.substr(0, 12), ": no lungs found"));
    }
    scan.lungs = std::move(lungs.labels);
    return scan;
  }

  NodeStore* store_;
  VolumeCache cache_;
};

}  // namespace

std::unique_ptr<SeveritySource> MakeStoreSeveritySource(NodeStore* store, std::string cache_dir) {
  return std::make_unique<StoreSeveritySource>(store, std::move(cache_dir));
}

}  // namespace scancov::node
