#include "sites/ct/phantom_writer.h"

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/status_macros.h"
#include "sites/ct/nifti_io.h"

namespace scancov::sites {
namespace {

using nlohmann::json;

json LungJson(const LungTruth& t, double voxel_ml) {
  const double lesions = static_cast<double>(t.lesion_voxels());
  auto frac = [](double part, double whole) { return whole > 0 ? part / whole : 0.0; };
  return json{
      {"lung_voxels", t.lung_voxels},
      {"lung_ml", t.lung_voxels * voxel_ml},
      {"healthy_voxels", t.healthy_voxels},
      {"ggo_voxels", t.ggo_voxels},
      {"crazy_paving_voxels", t.crazy_paving_voxels},
      {"consolidation_voxels", t.consolidation_voxels},
      {"lesion_voxels", t.lesion_voxels()},
      {"healthy_ml", t.healthy_voxels * voxel_ml},
      {"ggo_ml", t.ggo_voxels * voxel_ml},
      {"crazy_paving_ml", t.crazy_paving_voxels * voxel_ml},
      {"consolidation_ml", t.consolidation_voxels * voxel_ml},
      {"requested_extent", t.requested_extent},
      {"extent", t.extent()},
      {"ggo_fraction_of_lung", frac(t.ggo_voxels, t.lung_voxels)},
      {"crazy_paving_fraction_of_lung", frac(t.crazy_paving_voxels, t.lung_voxels)},
      {"consolidation_fraction_of_lung", frac(t.consolidation_voxels, t.lung_voxels)},
      {"ggo_fraction_of_lesions", frac(t.ggo_voxels, lesions)},
      {"crazy_paving_fraction_of_lesions", frac(t.crazy_paving_voxels, lesions)},
      {"consolidation_fraction_of_lesions", frac(t.consolidation_voxels, lesions)},
  };
}

LungTruth Sum(const LungTruth& a, const LungTruth& b) {
  LungTruth t;
  t.lung_voxels = a.lung_voxels + b.lung_voxels;
  t.healthy_voxels = a.healthy_voxels + b.healthy_voxels;
  t.ggo_voxels = a.ggo_voxels + b.ggo_voxels;
  t.crazy_paving_voxels = a.crazy_paving_voxels + b.crazy_paving_voxels;
  t.consolidation_voxels = a.consolidation_voxels + b.consolidation_voxels;
  t.requested_extent =
      t.lung_voxels ? (a.requested_extent * a.lung_voxels + b.requested_extent * b.lung_voxels) /
                          t.lung_voxels
                    : 0.0;
  return t;
}

}  // namespace

std::string PhantomTruthJson(const PhantomSpec& spec, const PhantomVolume& volume,
                             const DicomWriteResult& dicom) {
  const PhantomGrid& g = volume.grid;
  const PhantomTruth& t = volume.truth;
  const double voxel_mm3 = g.VoxelVolumeMm3();
  const double voxel_ml = voxel_mm3 / 1000.0;
  json series = json::array();
  for (const WrittenSeries& s : dicom.series) {
    series.push_back({{"series_instance_uid", s.series_uid},
                      {"series_number", s.series_number},
                      {"description", s.description},
                      {"localizer", s.localizer},
                      {"images", s.images}});
  }
  const CalciumSpec& c = spec.calcium;
  json out = {
      {"format", "scancov-phantom-truth-v1"},
      {"patient_id", spec.patient.patient_id},
      {"seed", spec.seed},
      {"study_instance_uid", dicom.study_uid},
      {"frame_of_reference_uid", dicom.frame_of_reference_uid},
      {"labels_series_instance_uid", dicom.series.empty() ? "" : dicom.series[0].series_uid},
      {"series", series},
      {"geometry",
       {{"dims_xyz", {g.nx, g.ny, g.nz}},
        {"spacing_mm_xyz", {g.dx, g.dy, g.dz}},
        {"origin_lps_mm", {g.origin[0], g.origin[1], g.origin[2]}},
        {"direction_lps", {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}},
        {"voxel_volume_mm3", voxel_mm3},
        {"nifti_affine_ras",
         {{-g.dx, 0, 0, -g.origin[0]}, {0, -g.dy, 0, -g.origin[1]}, {0, 0, g.dz, g.origin[2]}}}}},
      {"label_files",
       {{"lungs", "lungs.nii.gz"},
        {"lesions", "lesions.nii.gz"},
        {"lungs_values", {{"0", "background"}, {"1", "right lung"}, {"2", "left lung"}}},
        {"lesions_values",
         {{"0", "outside lungs"},
          {"1", "healthy lung"},
          {"2", "ground-glass opacity"},
          {"3", "crazy paving"},
          {"4", "consolidation"}}}}},
      {"lungs",
       {{"right", LungJson(t.right, voxel_ml)},
        {"left", LungJson(t.left, voxel_ml)},
        {"total", LungJson(Sum(t.right, t.left), voxel_ml)}}},
      {"disease", {{"peripheral", spec.disease.peripheral}, {"inferior", spec.disease.inferior}}},
      {"calcium",
       {{"coronary_mm3", t.calcium.coronary_voxels * voxel_mm3},
        {"aortic_valve_mm3", t.calcium.aortic_valve_voxels * voxel_mm3},
        {"aorta_mm3", t.calcium.aorta_voxels * voxel_mm3},
        {"total_mm3", t.calcium.total_voxels() * voxel_mm3},
        {"requested_coronary_mm3", c.coronary_mm3},
        {"requested_aortic_valve_mm3", c.aortic_valve_mm3},
        {"requested_aorta_mm3", c.aorta_mm3},
        {"hu_range", {350, 600}}}},
      {"devices",
       {{"endotracheal_tube", spec.devices.endotracheal_tube},
        {"central_catheter", spec.devices.central_catheter},
        {"voxels", t.device_voxels}}},
      {"lesion_hu_nominal",
       {{"healthy", {-880, -820}},
        {"ggo", {-730, -670}},
        {"crazy_paving", {-545, -365}},
        {"consolidation", {-30, 50}}}},
      {"noise_sigma_hu", spec.scanner.noise_sigma_hu},
  };
  return out.dump(2) + "\n";
}

absl::StatusOr<PhantomFiles> WritePhantomFiles(const PhantomSpec& spec, const PhantomVolume& volume,
                                               const std::string& out_dir) {
  PhantomFiles files;
  files.dicom_dir = out_dir + "/dicom";
  files.lung_labels_path = out_dir + "/lungs.nii.gz";
  files.lesion_labels_path = out_dir + "/lesions.nii.gz";
  files.truth_json_path = out_dir + "/truth.json";
  SCV_RETURN_IF_ERROR(MakeDirs(out_dir));
  SCV_ASSIGN_OR_RETURN(files.dicom, WritePhantomDicom(spec, volume, files.dicom_dir));
  SCV_RETURN_IF_ERROR(WriteNiftiLabels(files.lung_labels_path, volume.grid, volume.lung_labels,
                                       "scancov lungs: 1 right, 2 left"));
  SCV_RETURN_IF_ERROR(WriteNiftiLabels(files.lesion_labels_path, volume.grid, volume.lesion_labels,
                                       "scancov lesions: 1 healthy 2 GGO 3 CP 4 consolidation"));
  SCV_RETURN_IF_ERROR(
      WriteFileAtomic(files.truth_json_path, PhantomTruthJson(spec, volume, files.dicom)));
  files.grid = volume.grid;
  files.truth = volume.truth;
  return files;
}

absl::StatusOr<PhantomFiles> WritePhantomSeries(const PhantomSpec& spec,
                                                const std::string& out_dir) {
  SCV_ASSIGN_OR_RETURN(PhantomVolume volume, GeneratePhantomVolume(spec));
  return WritePhantomFiles(spec, volume, out_dir);
}

}  // namespace scancov::sites
