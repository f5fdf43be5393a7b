// Internal steps of the cohort generator (cohort_generator.cc): each draws one block of a
// patient from its random stream. The distributions and correlations are documented in
// VARIABLES.md; the latent factors tie the blocks together:
//   z_inf  (systemic inflammation)   -> CRP, LDH, neutrophils, lymphocytes, fever, temperature
//   z_lung (pneumonia severity)      -> SpO2, respiratory rate, LDH, extent, lesion composition
// Both are N(0, 1), correlated 0.7; age drives hypertension, CKD, urea, calcium.
#ifndef SCANCOV_SITES_COHORT_PATIENT_DRAW_H_
#define SCANCOV_SITES_COHORT_PATIENT_DRAW_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "core/env.h"
#include "sites/cohort/cohort_generator.h"

namespace scancov::sites::internal {

// Named access to a row in AdmissionVariables() order.
class Row {
 public:
  explicit Row(std::vector<double>* values) : values_(values) {}
  // Stores v rounded to `decimals` and clamped to the variable's hard limits.
  void Set(absl::string_view name, double v, int decimals = 0);
  double Get(absl::string_view name) const;

 private:
  std::vector<double>* values_;
};

struct Latent {
  double inflammation = 0.0;
  double lung = 0.0;
};

void DrawDemographics(const SiteProfile& site, Random& rng, Row& row);
void DrawComorbidities(Random& rng, Row& row);
Latent DrawLatent(const SiteProfile& site, Random& rng);
void DrawVitalsAndSymptoms(const Latent& z, Random& rng, Row& row);
void DrawBiology(const Latent& z, Random& rng, Row& row);
// Lesion extent and composition, report variables, calcium and the peripheral/inferior flags.
void DrawImagingAndReport(const Latent& z, Random& rng, Row& row, ImagingParams& imaging);
// Severity, death, ICU, time to event and devices, from the ground-truth models.
void DrawOutcomes(const SiteProfile& site, Random& rng, SyntheticPatient& p);
// Copies complete into observed with NaN where a value is missing.
void ApplyMissingness(const SiteProfile& site, Random& rng, SyntheticPatient& p);
// Fake MRN, name and birth date.
void DrawFakeIdentity(const SiteProfile& site, int index, Random& rng, SyntheticPatient& p);

bool Bernoulli(Random& rng, double p);
double Round(double v, int decimals);

}  // namespace scancov::sites::internal

#endif  // SCANCOV_SITES_COHORT_PATIENT_DRAW_H_
