#include "sites/synth/site_imaging.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace scancov::sites {

ScannerSpec SiteScanner(const std::string& site, CtScale scale) {
  ScannerSpec s = scale == CtScale::kFull ? FullScanner() : SmallScanner();
  const bool full = scale == CtScale::kFull;
  if (site == "kb") {
    s.manufacturer = "SCANCOV KB";
    s.slice_thickness_mm = full ? 1.25 : 5.0;
    s.pixel_spacing_mm = full ? 0.70 : 3.0;
    s.noise_sigma_hu = 18;
  } else if (site == "igr") {
    s.manufacturer = "SCANCOV IGR";
    s.slice_thickness_mm = full ? 2.5 : 5.0;
    s.pixel_spacing_mm = full ? 0.78 : 3.2;
    s.noise_sigma_hu = 25;
  } else {
    const size_t h = std::hash<std::string>()(site);
    s.manufacturer = "SCANCOV " + site;
    s.slice_thickness_mm = full ? 1.0 + (h % 5) : 5.0;
    s.pixel_spacing_mm = full ? 0.65 + 0.05 * ((h >> 8) % 4) : 3.0 + 0.1 * ((h >> 8) % 3);
    s.noise_sigma_hu = 12 + (h >> 16) % 15;
  }
  s.slice_spacing_mm = 0.0;  // contiguous: spacing = thickness
  if (full) {
    // Keep the thorax covered (about 300 mm) whatever the thickness.
    s.number_of_slices = static_cast<int>(std::lround(300.0 / s.slice_thickness_mm));
  }
  return s;
}

PhantomSpec PhantomSpecFor(const SyntheticPatient& patient, const ScannerSpec& scanner,
                           uint64_t site_seed) {
  PhantomSpec spec;
  spec.seed = site_seed * 1000003ULL + std::hash<std::string>()(patient.patient_id);
  spec.scanner = scanner;
  spec.patient.patient_id = patient.patient_id;
  const double sex = patient.Value("sex");
  spec.patient.sex = std::isnan(sex) || sex >= 0.5 ? 'M' : 'F';
  const double age = patient.Value("age");
  spec.patient.age_years = std::isnan(age) ? 60 : static_cast<int>(std::lround(age));
  const double bmi = patient.CompleteValue("bmi");
  spec.patient.body_scale = std::isnan(bmi) ? 1.0 : std::clamp(std::sqrt(bmi / 26.0), 0.85, 1.25);
  const ImagingParams& im = patient.imaging;
  spec.disease.extent_right = im.extent_fraction_right;
  spec.disease.extent_left = im.extent_fraction_left;
  spec.disease.ggo_fraction = im.ggo_fraction;
  spec.disease.crazy_paving_fraction = im.crazy_paving_fraction;
  spec.disease.consolidation_fraction = im.consolidation_fraction;
  spec.disease.peripheral = im.peripheral;
  spec.disease.inferior = im.inferior_predominance;
  spec.calcium.coronary_mm3 = 0.50 * im.calcium_volume_mm3;
  spec.calcium.aortic_valve_mm3 = 0.15 * im.calcium_volume_mm3;
  spec.calcium.aorta_mm3 = 0.35 * im.calcium_volume_mm3;
  spec.devices.endotracheal_tube = im.endotracheal_tube;
  spec.devices.central_catheter = im.central_venous_catheter;
  // As a radiographer would, widen the field of view for a large patient.
  for (int i = 0; i < 20 && !ValidatePhantomSpec(spec).ok(); ++i) {
    spec.scanner.pixel_spacing_mm *= 1.05;
  }
  return spec;
}

}  // namespace scancov::sites
