// From a synthetic site's patients to CT phantoms: each site's scanner (thickness, pixel
// spacing, noise, manufacturer) and each patient's anatomy and disease.
//
// Scanner profiles (small scale for tests and the demo; full scale for benchmarks):
//   kb:  "SCANCOV KB" 1.25 mm slices at full scale / 5 mm small, pixel 0.70 / 3.0 mm, noise 18
//   igr: "SCANCOV IGR" 2.5 mm / 5 mm, pixel 0.78 / 3.2 mm, noise 25 HU
//   other sites: thickness 1-5 mm, pixel spacing and noise drawn from the site name's hash.
// Patient: sex and age from the admission row; body size from BMI (body_scale = sqrt(BMI/26),
// clamped to 0.85..1.25); lesion extent per lung, composition, peripheral/inferior flags,
// calcium (split 50% coronary, 15% aortic valve, 35% aorta) and devices from the patient's
// ImagingParams (sites/cohort). The phantom seed is derived from the site seed and the patient.
// The pixel spacing grows (5% steps) when the field of view would not hold the patient's body.
#ifndef SCANCOV_SITES_SYNTH_SITE_IMAGING_H_
#define SCANCOV_SITES_SYNTH_SITE_IMAGING_H_

#include <string>

#include "sites/cohort/cohort_generator.h"
#include "sites/ct/phantom_spec.h"

namespace scancov::sites {

enum class CtScale { kSmall, kFull };

ScannerSpec SiteScanner(const std::string& site, CtScale scale);
PhantomSpec PhantomSpecFor(const SyntheticPatient& patient, const ScannerSpec& scanner,
                           uint64_t site_seed);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_SYNTH_SITE_IMAGING_H_
