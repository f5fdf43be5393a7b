// One synthetic CT exam on disk: DICOM series plus ground truth.
//
//   <out_dir>/dicom/           every DICOM file of the study, flat, shuffled names (dicom_writer.h)
//   <out_dir>/lungs.nii.gz     uint8 label map: 0 background, 1 right lung, 2 left lung
//   <out_dir>/lesions.nii.gz   uint8 label map: 0 outside the lungs, 1 healthy lung, 2 GGO,
//                              3 crazy paving, 4 consolidation
//   <out_dir>/truth.json       true volumes (see PhantomTruthJson)
//
// The label maps are NIfTI-1 on the voxel grid of the primary axial series, with an RAS affine
// consistent with its DICOM geometry (nifti_io.h explains the LPS -> RAS flip). Lung labels
// include the intrapulmonary vessels and bronchi; trachea and main bronchi are outside.
#ifndef SCANCOV_SITES_CT_PHANTOM_WRITER_H_
#define SCANCOV_SITES_CT_PHANTOM_WRITER_H_

#include <string>

#include "absl/status/statusor.h"
#include "sites/ct/dicom_writer.h"
#include "sites/ct/phantom_spec.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::sites {

struct PhantomFiles {
  std::string dicom_dir;
  std::string lung_labels_path;
  std::string lesion_labels_path;
  std::string truth_json_path;
  DicomWriteResult dicom;
  PhantomGrid grid;
  PhantomTruth truth;
};

// Generates the phantom of `spec` and writes it under `out_dir` (created if missing).
absl::StatusOr<PhantomFiles> WritePhantomSeries(const PhantomSpec& spec,
                                                const std::string& out_dir);
// The same for a volume the caller already generated from `spec`.
absl::StatusOr<PhantomFiles> WritePhantomFiles(const PhantomSpec& spec, const PhantomVolume& volume,
                                               const std::string& out_dir);

// truth.json: format "scancov-phantom-truth-v1"; patient id, seed and UIDs; geometry (dims,
// spacing, LPS origin and direction, voxel volume); per lung (right, left, total): voxel counts
// and volumes in mL of lung, healthy, GGO, crazy paving, consolidation, the requested and the
// realised extent, and each lesion type as a fraction of lung and of lesion volume; calcium
// (requested and realised mm3 per site and in total); devices; the label meanings and the HU
// intervals the lesion classes were drawn in.
std::string PhantomTruthJson(const PhantomSpec& spec, const PhantomVolume& volume,
                             const DicomWriteResult& dicom);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_CT_PHANTOM_WRITER_H_
