#include "node/tasks/store_series_source.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "node/imaging/imaging_store.h"
#include "node/imaging/volume_cache.h"
#include "sites/ct/nifti_io.h"

namespace scancov::node {
namespace {

absl::StatusOr<LabelVolume> ReadLabels(const std::string& path, const std::string& series_key,
                                       const HuVolume& ct) {
  SCV_ASSIGN_OR_RETURN(sites::NiftiVolume n, sites::ReadNifti(path));
  if (n.nx != ct.nx || n.ny != ct.ny || n.nz != ct.nz || n.u8.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "series ", series_key.substr(0, 12), ": labels are not a uint8 map on the series' grid"));
  }
  LabelVolume labels(ct.nx, ct.ny, ct.nz, ct.spacing);
  labels.PlaceLike(ct);
  labels.voxels = std::move(n.u8);
  return labels;
}

class StoreSeriesSource : public LabelledSeriesSource {
 public:
  StoreSeriesSource(NodeStore* store, std::string cache_dir)
      : store_(store), cache_(std::move(cache_dir)) {}

  absl::StatusOr<std::vector<LabelledSeries>> Load(const std::string& target,
                                                   int max_series) override {
    SCV_ASSIGN_OR_RETURN(std::vector<CtSeriesRecord> records, ListCtSeries(*store_));
    std::vector<LabelledSeries> out;
    for (const CtSeriesRecord& r : records) {
      const std::string& path = target == "lungs" ? r.lung_labels_path : r.lesion_labels_path;
      if (path.empty()) continue;
      if (max_series > 0 && static_cast<int>(out.size()) >= max_series) break;
      absl::StatusOr<CtSeries> cached = cache_.Load(r.series_key, r.fingerprint);
      if (!cached.ok()) {
        spdlog::warn("series {}: not in the volume cache ({}); skipped", r.series_key.substr(0, 12),
                     std::string(cached.status().message()));
        continue;
      }
      LabelledSeries s;
      s.series_key = r.series_key;
      s.ct = std::move(cached->volume);
      SCV_ASSIGN_OR_RETURN(LabelVolume labels, ReadLabels(path, r.series_key, s.ct));
      (target == "lungs" ? s.lungs : s.lesions) = std::move(labels);
      out.push_back(std::move(s));
    }
    return out;
  }

 private:
  NodeStore* store_;
  VolumeCache cache_;
};

}  // namespace

std::unique_ptr<LabelledSeriesSource> MakeStoreSeriesSource(NodeStore* store,
                                                            std::string cache_dir) {
  return std::make_unique<StoreSeriesSource>(store, std::move(cache_dir));
}

}  // namespace scancov::node
