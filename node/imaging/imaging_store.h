// The node's record of imported CT series (table `ct_series` in the node's store,
// node/store/node_store.h, which creates it). The
// voxels themselves live in the VolumeCache; this table says which series exist, whose they are
// (pseudonymous patient key, the same pseudonym as the admission rows), their grid, and where
// the steward's reference annotations are, if any.
//
//   ct_series(series_key PK, patient_key, study_key, nx, ny, nz, spacing_x, spacing_y,
//             spacing_z, fingerprint, lung_labels_path, lesion_labels_path, imported_unix)
//
// Annotation convention: a series whose DICOM folder's parent holds `lungs.nii.gz` (0
// background, 1 right lung, 2 left lung) and/or `lesions.nii.gz` (0 outside the lungs, 1
// healthy, 2 GGO, 3 crazy paving, 4 consolidation, 255 unlabelled) on the same grid has
// reference labels (the layout `scancov-synth-ct` writes; stewards can lay out theirs alike).
// They are copied into the node's state (AdoptLabels), so no source path, which may name a
// patient, is ever stored. Not thread-safe.
#ifndef SCANCOV_NODE_IMAGING_IMAGING_STORE_H_
#define SCANCOV_NODE_IMAGING_IMAGING_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/store/node_store.h"

namespace scancov::node {

struct CtSeriesRecord {
  std::string series_key;
  std::string patient_key;
  std::string study_key;
  int nx = 0, ny = 0, nz = 0;
  double spacing_x = 0, spacing_y = 0, spacing_z = 0;
  std::string fingerprint;  // of the sources, as the VolumeCache keys them
  std::string lung_labels_path;
  std::string lesion_labels_path;
  int64_t imported_unix = 0;
};

absl::Status UpsertCtSeries(NodeStore& store, const CtSeriesRecord& record);
absl::StatusOr<std::vector<CtSeriesRecord>> ListCtSeries(NodeStore& store);
absl::StatusOr<std::optional<CtSeriesRecord>> GetCtSeries(NodeStore& store,
                                                          const std::string& series_key);

// The annotation files next to a series imported from `source_dir` (see the convention above),
// "" for each that is absent.
struct LabelPaths {
  std::string lungs;
  std::string lesions;
};
LabelPaths FindLabelPaths(const std::string& source_dir);

// Copies found annotation files into the node's own `labels_dir` under the series' pseudonymous
// key ("<series_key>.lungs.nii.gz", "<series_key>.lesions.nii.gz") and returns the copies'
// paths. The store records only these: a source folder name may carry a patient identifier.
absl::StatusOr<LabelPaths> AdoptLabels(const LabelPaths& found, const std::string& labels_dir,
                                       const std::string& series_key);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_IMAGING_STORE_H_
