// What a synthetic chest CT phantom looks like: patient, disease, calcium, devices and scanner.
//
// A PhantomSpec is plain data. The cohort generator (sites/cohort) fills one per patient from the
// patient's ground-truth variables; GeneratePhantomVolume (phantom_volume.h) turns it into voxels
// and WritePhantomSeries (phantom_writer.h) into DICOM files plus ground-truth labels.
//
// Coordinates: DICOM patient coordinates (LPS: +x towards the patient's left, +y posterior,
// +z superior). Axial slices; the in-plane anatomy is laid out in millimetres and scaled by
// `body_scale`; along z the anatomy is stretched over the scan range (number_of_slices x
// spacing), as a real chest protocol sets the scan range from lung apex to lung bases.
#ifndef SCANCOV_SITES_CT_PHANTOM_SPEC_H_
#define SCANCOV_SITES_CT_PHANTOM_SPEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace scancov::sites {

// Pixel encoding of the written DICOM files (the site's PACS export). All are lossless.
enum class DicomEncoding {
  kExplicitLittle,  // 1.2.840.10008.1.2.1 (default)
  kImplicitLittle,  // 1.2.840.10008.1.2
  kRle,             // 1.2.840.10008.1.2.5 RLE Lossless
  kJpegLossless,    // 1.2.840.10008.1.2.4.70 JPEG Lossless, first-order prediction (SV1)
  kJpegLsLossless,  // 1.2.840.10008.1.2.4.80 JPEG-LS Lossless
};

struct PatientSpec {
  // Fake patient identifier written to PatientID (e.g. "KB-000123"). Synthetic, never real.
  std::string patient_id = "SYN-000001";
  // Written to PatientName as "SYNTHETIC^<patient_id>" unless set.
  std::string patient_name;
  // 'M' or 'F' (PatientSex).
  char sex = 'M';
  // Age in years (PatientAge "061Y").
  int age_years = 60;
  // In-plane body size factor (1.0: a 340 x 240 mm chest). 0.75..1.15 is sensible; larger
  // bodies need a larger field of view (rows x pixel spacing), see ValidatePhantomSpec.
  double body_scale = 1.0;
  // Subcutaneous fat thickness in mm (before body_scale).
  double fat_mm = 12.0;
};

struct DiseaseSpec {
  // Fraction of each lung's volume (lung label voxels) covered by lesions, 0..1. The phantom
  // matches it to one voxel (see PhantomTruth in phantom_volume.h).
  double extent_right = 0.0;
  double extent_left = 0.0;
  // Split of the lesion voxels by type; each 0..1, normalised by their sum (all zero: GGO only).
  // Consolidation takes the lesion cores, crazy paving the next shell, GGO the rim.
  double ggo_fraction = 1.0;
  double crazy_paving_fraction = 0.0;
  double consolidation_fraction = 0.0;
  // Lesions favour the subpleural periphery (radiology report "peripheral topography").
  bool peripheral = true;
  // Lesions favour the lower lung (radiology report "inferior predominance").
  bool inferior = true;
};

// Cardiovascular calcium volumes in mm^3 (AI-SCoRE's total thoracic calcium is their sum).
// Realised to the nearest voxel volume (reported in the truth JSON).
struct CalciumSpec {
  double coronary_mm3 = 0.0;      // along the LAD, LCx and RCA on the heart surface
  double aortic_valve_mm3 = 0.0;  // a ring at the aortic root
  double aorta_mm3 = 0.0;         // in the wall of the ascending, arch and descending aorta
};

struct DeviceSpec {
  // A tube in the trachea (plastic wall ~300 HU and a radio-opaque line), above the carina.
  bool endotracheal_tube = false;
  // A thin radio-opaque catheter (~1500 HU) down the superior vena cava.
  bool central_catheter = false;
};

struct ScannerSpec {
  int rows = 128;                   // image rows (y)
  int columns = 128;                // image columns (x)
  double pixel_spacing_mm = 3.0;    // square pixels; field of view = columns x spacing
  double slice_thickness_mm = 5.0;  // nominal reconstructed thickness (SliceThickness)
  // Distance between slice centres (SpacingBetweenSlices); <= 0 means equal to the thickness.
  double slice_spacing_mm = 0.0;
  int number_of_slices = 40;     // axial slices of the primary series
  double noise_sigma_hu = 15.0;  // Gaussian noise, HU, independent per voxel
  std::string manufacturer = "SCANCOV SYNTHETIC";
  std::string model_name = "PHANTOM-1";
  // Stored value = (HU - intercept) / slope. Intercept <= -1024 gives unsigned 16-bit pixels
  // (PixelRepresentation 0), otherwise signed (PixelRepresentation 1). Slope must be > 0.
  double rescale_slope = 1.0;
  double rescale_intercept = -1024.0;
  DicomEncoding encoding = DicomEncoding::kExplicitLittle;
  // Also write a coronal localizer (scout) image: ImageType ORIGINAL\PRIMARY\LOCALIZER.
  bool add_localizer = false;
  // Also write a second axial series of the same study: a 2x thicker reconstruction (pairs of
  // slices averaged). Ground-truth labels describe the primary series only.
  bool add_second_series = false;
};

struct PhantomSpec {
  // Drives every random choice (anatomy jitter, vessels, lesion shapes, noise, UIDs, file
  // names): the same spec gives byte-identical output.
  uint64_t seed = 1;
  PatientSpec patient;
  DiseaseSpec disease;
  CalciumSpec calcium;
  DeviceSpec devices;
  ScannerSpec scanner;
  // StudyDate (DA, YYYYMMDD) written to the study.
  std::string study_date = "20200401";
};

// 128 x 128 pixels of 3 mm, 40 slices of 5 mm: fast, for demos and tests.
ScannerSpec SmallScanner();
// 512 x 512 pixels of 0.75 mm, 400 slices of 1 mm (overlapping 1.25 mm thickness is not
// modelled): the benchmark scale.
ScannerSpec FullScanner();

// Checks ranges (fractions in 0..1, sizes positive, slope > 0, the body fits in the field of
// view, 16-bit storage can hold air and bone) and returns "PhantomSpec: why".
absl::Status ValidatePhantomSpec(const PhantomSpec& spec);

// Distance between slice centres actually used (slice_spacing_mm or the thickness).
double SliceSpacing(const ScannerSpec& scanner);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_CT_PHANTOM_SPEC_H_
