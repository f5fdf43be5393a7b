// Deterministic generator of synthetic hospital cohorts shaped like the ScanCov sites.
//
//   absl::StatusOr<SiteProfile> kb = NamedSiteProfile("kb");
//   SyntheticSite site = GenerateSite(*kb, /*seed=*/42);
//   double spo2 = site.patients[0].Value("spo2");  // NaN when missing
//
// Each patient is drawn from its own random stream, seeded from (seed, site name, index), so a
// patient does not change when the cohort size does, and the same seed gives the same cohort
// on every run (given the same standard library). Everything here is synthetic: the
// identifiers, names and birth dates are fake and exist to test pseudonymisation.
//
// Thread safety: GenerateSite is a pure function; the returned values are plain data.
#ifndef SCANCOV_SITES_COHORT_COHORT_GENERATOR_H_
#define SCANCOV_SITES_COHORT_COHORT_GENERATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::sites {

// Case mix and baseline risk of one site.
struct SiteProfile {
  std::string name;       // "kb", "igr", "site3"
  std::string id_prefix;  // fake MRN prefix: "KB" gives "KB-000123"
  int patients = 800;
  double cancer_rate = 0.07;
  double age_mean = 63.0;
  double age_sd = 16.0;
  double male_rate = 0.60;
  double lung_shift = 0.0;      // shifts the latent pneumonia severity (later presentation)
  double severity_shift = 0.0;  // added to the severity logit (baseline risk)
  double death_shift = 0.0;     // added to the death | severe logit
  double icu_shift = 0.0;       // added to the icu | severe logit
  double missing_scale = 1.0;   // multiplies every missingness rate
};

// "kb" (~800 patients, 7% cancer) and "igr" (~140, 80% cancer); NotFound otherwise.
absl::StatusOr<SiteProfile> NamedSiteProfile(absl::string_view name);
// A further site: `case_mix_shift` in [-1, 1] moves age, cancer rate, presentation severity
// and baseline risk together (0 is KB-like). The MRN prefix is the upper-cased name.
SiteProfile GenericSiteProfile(absl::string_view name, int patients, double case_mix_shift);
// NamedSiteProfile for kb/igr, else GenericSiteProfile(name, patients, shift); `patients` > 0
// overrides the named sites' size.
absl::StatusOr<SiteProfile> SiteProfileFor(absl::string_view name, int patients,
                                           double case_mix_shift);

// Per-patient parameters for the CT phantom generator (sites/ct).
struct ImagingParams {
  double extent_fraction_left = 0.0;  // lesion volume / lung volume, 0..1
  double extent_fraction_right = 0.0;
  // Composition of the lesions (fractions of lesion volume; they sum to 1).
  double ggo_fraction = 1.0;
  double crazy_paving_fraction = 0.0;
  double consolidation_fraction = 0.0;
  bool peripheral = false;             // lesions mostly in the outer third of the lung
  bool inferior_predominance = false;  // lesions mostly in the lower segments
  double calcium_volume_mm3 = 0.0;     // coronary + aortic valve + thoracic aorta calcium
  bool endotracheal_tube = false;      // devices outside the lungs (ICU patients)
  bool central_venous_catheter = false;
  bool ecg_leads = false;

  // Mean of left and right (both lungs taken as equal volume).
  double ExtentFraction() const { return 0.5 * (extent_fraction_left + extent_fraction_right); }
};

struct PatientOutcomes {
  bool severe = false;
  bool death = false;
  bool icu = false;
  bool mechanical_ventilation = false;
  double time_to_event_days = 0.0;  // to severe progression (event) or censoring
  bool event = false;               // == severe
};

struct SyntheticPatient {
  std::string patient_id;  // fake MRN, e.g. "KB-000123"
  std::string name;        // fake "LAST, First"
  std::string birth_date;  // fake, "YYYY-MM-DD", consistent with age
  // AdmissionVariables() order, canonical units. `complete` is what the outcome models saw;
  // `observed` is the exported table: NaN where the value is missing.
  std::vector<double> complete;
  std::vector<double> observed;
  PatientOutcomes outcomes;
  ImagingParams imaging;
  double severity_probability = 0.0;  // true P(severe | complete values, site)
  double death_probability = 0.0;     // true P(death | complete values, site)

  // Observed value of an admission variable or outcome column; NaN if missing or unknown.
  double Value(absl::string_view name) const;
  // Complete (pre-missingness) value of an admission variable; NaN if unknown.
  double CompleteValue(absl::string_view name) const;
};

struct SyntheticSite {
  SiteProfile profile;
  uint64_t seed = 0;
  std::vector<SyntheticPatient> patients;
};

SyntheticSite GenerateSite(const SiteProfile& profile, uint64_t seed);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_COHORT_COHORT_GENERATOR_H_
