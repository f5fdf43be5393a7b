// The store-backed SeveritySource (severity_runner.h): one series per patient, the model-free
// lung mask computed once per series, the outcome from the admission rows (-1 when unknown).
#include <spdlog/spdlog.h>

#include <map>

#include "core/status_macros.h"
#include "models/ct/lung_mask.h"
#include "node/clinical_source.h"
#include "node/imaging/imaging_store.h"
#include "node/imaging/volume_cache.h"
#include "node/severity_runner.h"

namespace scancov::node {
namespace {

class StoreSeveritySource : public SeveritySource {
 public:
  StoreSeveritySource(SQLite::Database* db, std::string cache_dir)
      : db_(db), cache_(std::move(cache_dir)) {}

  absl::StatusOr<std::vector<SeverityPatient>> Load(const std::string& outcome) override {
    ClinicalDatasetSource clinical(db_);
    SCV_ASSIGN_OR_RETURN(TabularRows rows, clinical.Load({"age"}, outcome));
    std::map<std::string, int> label;
    for (size_t i = 0; i < rows.keys.size(); ++i) label[rows.keys[i]] = static_cast<int>(rows.y[i]);
    SCV_ASSIGN_OR_RETURN(std::vector<CtSeriesRecord> series, ListCtSeries(*db_));
    std::map<std::string, const CtSeriesRecord*> best;  // patient -> series with most slices
    for (const CtSeriesRecord& r : series) {
      auto& b = best[r.patient_key];
      if (b == nullptr || r.nz > b->nz) b = &r;
    }
    std::vector<SeverityPatient> out;
    for (const auto& [patient, record] : best) {
      auto l = label.find(patient);  // unknown outcome: scored at the end, never trained on
      absl::StatusOr<CtVolume> volume = cache_.Load(record->series_key, record->fingerprint);
      if (!volume.ok()) {
        spdlog::warn("series {}: not in the volume cache; skipped",
                     record->series_key.substr(0, 12));
        continue;
      }
      SeverityPatient p;
      p.patient_key = patient;
      p.label = l == label.end() ? -1 : l->second;
      p.ct = HuVolume(volume->nx, volume->ny, volume->nz, volume->spacing);
      p.ct.voxels = std::move(volume->hu);
      auto mask = masks_.find(record->series_key);
      if (mask == masks_.end()) {
        absl::StatusOr<ct::LungMaskResult> lungs = ct::ComputeLungMask(p.ct);
        if (!lungs.ok() || lungs->right_voxels + lungs->left_voxels == 0) {
          spdlog::warn("series {}: no lungs found; skipped", record->series_key.substr(0, 12));
          continue;
        }
        mask = masks_.emplace(record->series_key, std::move(lungs->labels)).first;
      }
      p.lungs = mask->second;
      out.push_back(std::move(p));
    }
    return out;
  }

 private:
  SQLite::Database* db_;
  VolumeCache cache_;
  std::map<std::string, LabelVolume> masks_;
};

}  // namespace

std::unique_ptr<SeveritySource> MakeStoreSeveritySource(SQLite::Database* db,
                                                        std::string cache_dir) {
  return std::make_unique<StoreSeveritySource>(db, std::move(cache_dir));
}

}  // namespace scancov::node
