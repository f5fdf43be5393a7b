// Imaging, radiology report, outcome, missingness and fake-identity blocks of a synthetic
// patient.
#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "sites/cohort/ground_truth.h"
#include "sites/cohort/patient_draw.h"
#include "sites/cohort/variables.h"

namespace scancov::sites::internal {
namespace {

int ExtentScore(double fraction) {
  if (fraction <= 0) return 0;
  if (fraction < 0.10) return 1;
  if (fraction < 0.25) return 2;
  if (fraction < 0.50) return 3;
  if (fraction < 0.75) return 4;
  return 5;
}

// Lesion composition: GGO early, crazy paving then consolidation as the pneumonia progresses.
void DrawComposition(double lung, Random& rng, ImagingParams& im) {
  const double g = std::exp(1.3 - 0.25 * lung + 0.3 * rng.Normal());
  const double c = std::exp(-1.3 + 0.55 * lung + 0.6 * rng.Normal());
  const double k = std::exp(-1.1 + 0.45 * lung + 0.7 * rng.Normal());
  im.ggo_fraction = g / (g + c + k);
  im.crazy_paving_fraction = c / (g + c + k);
  im.consolidation_fraction = k / (g + c + k);
}

// The radiologist's coding of what is there, with reading noise.
void DrawReport(bool lesions, Random& rng, const ImagingParams& im, Row& row) {
  const double perceived = std::min(1.0, im.ExtentFraction() * std::exp(0.3 * rng.Normal()));
  row.Set("disease_extent", lesions ? std::max(1, ExtentScore(perceived)) : 0);
  const auto coded = [&](double p_present, double p_rounded) {
    if (!lesions || !Bernoulli(rng, p_present)) return 0;
    return Bernoulli(rng, p_rounded) ? 2 : 1;
  };
  row.Set("ggo", coded(Sigmoid((im.ggo_fraction - 0.25) / 0.05), 0.2));
  row.Set("consolidation", coded(Sigmoid((im.consolidation_fraction - 0.12) / 0.04), 0.25));
  row.Set("crazy_paving",
          lesions && Bernoulli(rng, Sigmoid((im.crazy_paving_fraction - 0.15) / 0.04)));
  row.Set("peripheral_topography", im.peripheral);
  row.Set("inferior_predominance", im.inferior_predominance);
}

double CalciumVolume(Random& rng, const Row& row) {
  const double age = row.Get("age");
  const double male = row.Get("sex");
  if (Bernoulli(rng, Sigmoid(2.6 - 0.09 * (age - 40) - 0.4 * male))) return 0.0;
  return Round(std::exp(3.0 + 0.075 * (age - 40) + 0.4 * male + 0.35 * row.Get("hypertension") +
                        0.35 * row.Get("diabetes") + 0.9 * rng.Normal()),
               1);
}

// Per-variable probability of a missing value in a KB-like export (before missing_scale).
double MissingRate(absl::string_view name, VariableGroup group) {
  static const std::pair<const char*, double> kRates[] = {{"days_since_onset", 0.10},
                                                          {"heart_rate", 0.05},
                                                          {"temperature", 0.05},
                                                          {"spo2", 0.03},
                                                          {"respiratory_rate", 0.15},
                                                          {"systolic_bp", 0.06},
                                                          {"diastolic_bp", 0.06},
                                                          {"crp", 0.08},
                                                          {"ldh", 0.20},
                                                          {"platelets", 0.05},
                                                          {"hemoglobin", 0.05},
                                                          {"urea", 0.08},
                                                          {"creatinine", 0.07},
                                                          {"ddimer", 0.55},
                                                          {"procalcitonin", 0.72},
                                                          {"ferritin", 0.65},
                                                          {"alt", 0.70},
                                                          {"ast", 0.40},
                                                          {"creatine_kinase", 0.50},
                                                          {"total_bilirubin", 0.45},
                                                          {"conjugated_bilirubin", 0.75}};
  for (const auto& [n, rate] : kRates) {
    if (name == n) return rate;
  }
  switch (group) {
    case VariableGroup::kSymptoms:
      return 0.08;
    case VariableGroup::kComorbidities:
      return 0.03;
    case VariableGroup::kRadiologyReport:
      return 0.02;
    default:
      return 0.0;
  }
}

}  // namespace

void DrawImagingAndReport(const Latent& z, Random& rng, Row& row, ImagingParams& im) {
  const bool lesions = z.lung + 0.4 * rng.Normal() >= -2.0;
  if (lesions) {
    const double logit_f = -1.75 + 1.2 * z.lung;
    im.extent_fraction_left = std::clamp(Sigmoid(logit_f + 0.35 * rng.Normal()), 0.002, 0.98);
    im.extent_fraction_right = std::clamp(Sigmoid(logit_f + 0.35 * rng.Normal()), 0.002, 0.98);
    DrawComposition(z.lung, rng, im);
    im.peripheral = Bernoulli(rng, Sigmoid(1.6 - 0.6 * z.lung));
    im.inferior_predominance = Bernoulli(rng, 0.55);
  }
  DrawReport(lesions, rng, im, row);
  im.calcium_volume_mm3 = CalciumVolume(rng, row);
}

void DrawOutcomes(const SiteProfile& site, Random& rng, SyntheticPatient& p) {
  const auto value = [&p](absl::string_view name) {
    if (name == "extent_fraction") return p.imaging.ExtentFraction();
    if (name == "calcium_volume_mm3") return p.imaging.calcium_volume_mm3;
    return p.CompleteValue(name);
  };
  PatientOutcomes& o = p.outcomes;
  p.severity_probability = Sigmoid(SeverityModel().LinearPredictor(value, site.severity_shift));
  const double death_given_severe =
      Sigmoid(DeathGivenSevereModel().LinearPredictor(value, site.death_shift));
  p.death_probability = p.severity_probability * death_given_severe;
  o.severe = Bernoulli(rng, p.severity_probability);
  const double icu_p = o.severe
                           ? Sigmoid(IcuGivenSevereModel().LinearPredictor(value, site.icu_shift))
                           : kIcuGivenNotSevere;
  o.death = o.severe && Bernoulli(rng, death_given_severe);
  o.icu = Bernoulli(rng, icu_p);
  o.mechanical_ventilation = o.severe && o.icu && Bernoulli(rng, kVentilatedGivenIcuSevere);
  o.event = o.severe;
  o.time_to_event_days = o.severe
                             ? std::clamp(Round(3.0 * std::exp(0.7 * rng.Normal()), 1), 0.1, 28.0)
                             : Round(7 + 53 * rng.Uniform(), 1);
  ImagingParams& im = p.imaging;
  im.endotracheal_tube = o.icu && Bernoulli(rng, o.mechanical_ventilation ? 0.7 : 0.15);
  im.central_venous_catheter = o.icu && Bernoulli(rng, 0.5);
  im.ecg_leads = Bernoulli(rng, 0.25);
}

void ApplyMissingness(const SiteProfile& site, Random& rng, SyntheticPatient& p) {
  const auto& vars = AdmissionVariables();
  p.observed = p.complete;
  const double nan = std::nan("");
  const double s = site.missing_scale;
  // Height and weight are charted more often for obese patients (the seed's remark on BMI).
  const bool anthropometrics = Bernoulli(rng, (p.CompleteValue("bmi") > 30 ? 0.70 : 0.35));
  const bool report = !Bernoulli(rng, 0.08 * s);  // no structured report for this patient
  const bool blood_count = !Bernoulli(rng, 0.05 * s);
  for (size_t i = 0; i < vars.size(); ++i) {
    const VariableSpec& spec = vars[i];
    bool present = !Bernoulli(rng, std::min(0.95, MissingRate(spec.name, spec.group) * s));
    if (spec.group == VariableGroup::kDemographics && spec.name != "age" && spec.name != "sex") {
      present = anthropometrics;
    }
    if (spec.group == VariableGroup::kRadiologyReport) present = present && report;
    if (spec.name == "neutrophils" || spec.name == "lymphocytes" || spec.name == "monocytes" ||
        spec.name == "leukocytes" || spec.name == "lymphocyte_percent") {
      present = blood_count;
    }
    if (!present) p.observed[i] = nan;
  }
}

void DrawFakeIdentity(const SiteProfile& site, int index, Random& rng, SyntheticPatient& p) {
  static const char* const kFirst[] = {"Camille", "Louis",  "Jeanne", "Hugo",    "Alice",
                                       "Jules",   "Lea",    "Arthur", "Manon",   "Paul",
                                       "Chloe",   "Victor", "Ines",   "Gabriel", "Rose"};
  static const char* const kLast[] = {"SYNTHMARTIN", "FAKEDURAND",  "TESTBERNARD",  "MOCKPETIT",
                                      "SYNTHROBERT", "FAKERICHARD", "TESTMOREAU",   "MOCKLAURENT",
                                      "SYNTHSIMON",  "FAKEMICHEL",  "TESTLEFEBVRE", "MOCKGARCIA"};
  p.patient_id = absl::StrFormat("%s-%06d", site.id_prefix, index + 1);
  const size_t f = rng.Next() % (sizeof(kFirst) / sizeof(kFirst[0]));
  const size_t l = rng.Next() % (sizeof(kLast) / sizeof(kLast[0]));
  p.name = absl::StrCat(kLast[l], ", ", kFirst[f]);
  // Admission in March 2020; the birth date is age years and a random part of a year before.
  const absl::CivilDay admission = absl::CivilDay(2020, 3, 1) + static_cast<int>(rng.Next() % 60);
  const int age = static_cast<int>(p.CompleteValue("age"));
  const absl::CivilDay birth =
      absl::CivilDay(admission.year() - age, admission.month(), admission.day()) -
      static_cast<int>(rng.Next() % 365);
  p.birth_date = absl::StrFormat("%04d-%02d-%02d", birth.year(), birth.month(), birth.day());
}

}  // namespace scancov::sites::internal
