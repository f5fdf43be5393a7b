#include "sites/ct/phantom_spec.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace scancov::sites {
namespace {

// The widest body the anatomy model draws, in mm, at body_scale 1 (see phantom_anatomy.cc).
constexpr double kBodyWidthMm = 340.0;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("PhantomSpec: ", why));
}

bool InUnit(double v) { return v >= 0.0 && v <= 1.0 && std::isfinite(v); }

}  // namespace

ScannerSpec SmallScanner() { return ScannerSpec{}; }

ScannerSpec FullScanner() {
  ScannerSpec s;
  s.rows = 512;
  s.columns = 512;
  s.pixel_spacing_mm = 0.75;
  s.slice_thickness_mm = 1.0;
  s.slice_spacing_mm = 1.0;
  s.number_of_slices = 400;
  s.noise_sigma_hu = 20.0;
  return s;
}

double SliceSpacing(const ScannerSpec& scanner) {
  return scanner.slice_spacing_mm > 0 ? scanner.slice_spacing_mm : scanner.slice_thickness_mm;
}

absl::Status ValidatePhantomSpec(const PhantomSpec& spec) {
  const PatientSpec& p = spec.patient;
  const DiseaseSpec& d = spec.disease;
  const ScannerSpec& s = spec.scanner;
  if (p.patient_id.empty()) return Invalid("patient.patient_id is empty");
  if (p.sex != 'M' && p.sex != 'F') return Invalid("patient.sex must be 'M' or 'F'");
  if (p.age_years < 0 || p.age_years > 130) return Invalid("patient.age_years outside 0..130");
  if (!(p.body_scale >= 0.5 && p.body_scale <= 1.5)) {
    return Invalid("patient.body_scale outside 0.5..1.5");
  }
  if (!(p.fat_mm >= 0 && p.fat_mm <= 40)) return Invalid("patient.fat_mm outside 0..40");
  if (!InUnit(d.extent_left) || !InUnit(d.extent_right)) {
    return Invalid("disease.extent_left/right outside 0..1");
  }
  if (!InUnit(d.ggo_fraction) || !InUnit(d.crazy_paving_fraction) ||
      !InUnit(d.consolidation_fraction)) {
    return Invalid("disease lesion-type fractions outside 0..1");
  }
  const CalciumSpec& c = spec.calcium;
  if (!(c.coronary_mm3 >= 0 && c.aortic_valve_mm3 >= 0 && c.aorta_mm3 >= 0) ||
      c.coronary_mm3 + c.aortic_valve_mm3 + c.aorta_mm3 > 20000) {
    return Invalid("calcium volumes must be >= 0 and sum to at most 20000 mm3");
  }
  if (s.rows < 16 || s.columns < 16 || s.rows > 2048 || s.columns > 2048) {
    return Invalid("scanner.rows/columns outside 16..2048");
  }
  if (s.number_of_slices < 4 || s.number_of_slices > 2000) {
    return Invalid("scanner.number_of_slices outside 4..2000");
  }
  if (!(s.pixel_spacing_mm > 0.1 && s.pixel_spacing_mm < 10)) {
    return Invalid("scanner.pixel_spacing_mm outside (0.1, 10)");
  }
  if (!(s.slice_thickness_mm >= 0.5 && s.slice_thickness_mm <= 10) ||
      !(SliceSpacing(s) >= 0.3 && SliceSpacing(s) <= 10)) {
    return Invalid("scanner slice thickness/spacing outside 0.5..10 mm");
  }
  if (!(s.noise_sigma_hu >= 0 && s.noise_sigma_hu <= 200)) {
    return Invalid("scanner.noise_sigma_hu outside 0..200");
  }
  if (!(s.rescale_slope > 0 && s.rescale_slope <= 16) || !std::isfinite(s.rescale_intercept)) {
    return Invalid("scanner.rescale_slope must be in (0, 16] and the intercept finite");
  }
  // Air (-1024) and dense bone/devices (+2000) must be representable in 16 bits.
  const bool is_unsigned = s.rescale_intercept <= -1024.0;
  const double lo = (-1024.0 - s.rescale_intercept) / s.rescale_slope;
  const double hi = (2000.0 - s.rescale_intercept) / s.rescale_slope;
  if (is_unsigned ? (lo < -0.5 || hi > 65535) : (lo < -32768 || hi > 32767)) {
    return Invalid("scanner rescale cannot store -1024..2000 HU in 16 bits");
  }
  const double fov_x = s.columns * s.pixel_spacing_mm;
  const double fov_y = s.rows * s.pixel_spacing_mm;
  const double need = kBodyWidthMm * p.body_scale + 10.0;
  if (fov_x < need || fov_y < need * 0.72) {
    return Invalid(absl::StrCat("field of view ", fov_x, " x ", fov_y, " mm is too small for a ",
                                kBodyWidthMm * p.body_scale,
                                " mm wide body (raise pixel_spacing_mm or rows/columns)"));
  }
  if (spec.study_date.size() != 8) return Invalid("study_date must be YYYYMMDD");
  return absl::OkStatus();
}

}  // namespace scancov::sites
