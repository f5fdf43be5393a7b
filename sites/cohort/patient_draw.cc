// Clinical blocks of a synthetic patient: demographics, comorbidities, latent factors, vital
// signs, symptoms and biology. Medians and spreads are set for a hospitalised COVID-19 cohort
// in spring 2020 (KB-like); which variables share a factor is what makes an analysis find
// direct, indirect and null associations (ground_truth.h).
#include "sites/cohort/patient_draw.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "sites/cohort/ground_truth.h"
#include "sites/cohort/variables.h"

namespace scancov::sites::internal {
namespace {

const absl::flat_hash_map<std::string, int>& IndexMap() {
  static const auto* map = [] {
    auto* m = new absl::flat_hash_map<std::string, int>();
    const auto& vars = AdmissionVariables();
    for (size_t i = 0; i < vars.size(); ++i) (*m)[vars[i].name] = static_cast<int>(i);
    return m;
  }();
  return *map;
}

int IndexOf(absl::string_view name) {
  auto it = IndexMap().find(name);
  return it == IndexMap().end() ? -1 : it->second;
}

// A log-normal draw with the given median and log-scale spread of the noise part.
double LogNormal(double median, double log_sd, double shared) {
  return median * std::exp(log_sd * shared);
}

}  // namespace

bool Bernoulli(Random& rng, double p) { return rng.Uniform() < p; }

double Round(double v, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(v * f) / f;
}

void Row::Set(absl::string_view name, double v, int decimals) {
  const int i = IndexOf(name);
  if (i < 0) return;  // programmer error, caught by the generator tests
  const VariableSpec& spec = AdmissionVariables()[i];
  (*values_)[i] = std::clamp(Round(v, decimals), spec.min, spec.max);
}

double Row::Get(absl::string_view name) const {
  const int i = IndexOf(name);
  return i < 0 ? std::nan("") : (*values_)[i];
}

void DrawDemographics(const SiteProfile& site, Random& rng, Row& row) {
  const bool male = Bernoulli(rng, site.male_rate);
  double age = rng.Normal(site.age_mean, site.age_sd);
  for (int tries = 0; tries < 8 && (age < 18 || age > 100); ++tries) {
    age = rng.Normal(site.age_mean, site.age_sd);
  }
  row.Set("sex", male ? 1 : 0);
  row.Set("age", std::clamp(age, 18.0, 100.0));
  const double height = Round(male ? rng.Normal(175, 7) : rng.Normal(162, 6.5), 0);
  const double bmi = LogNormal(26.5, 0.18, rng.Normal());
  const double weight = Round(bmi * (height / 100) * (height / 100), 1);
  row.Set("height", height);
  row.Set("weight", weight, 1);
  row.Set("bmi", weight / ((height / 100) * (height / 100)), 1);
  row.Set("cancer", Bernoulli(rng, site.cancer_rate) ? 1 : 0);
}

void DrawComorbidities(Random& rng, Row& row) {
  const double age = row.Get("age");
  const double bmi_dev = row.Get("bmi") - 26.5;
  const bool htn = Bernoulli(rng, Sigmoid(-4.6 + 0.072 * age));
  const bool diabetes = Bernoulli(rng, Sigmoid(-3.6 + 0.025 * age + 0.12 * bmi_dev + 0.5 * htn));
  row.Set("hypertension", htn);
  row.Set("diabetes", diabetes);
  row.Set("dyslipidemia", Bernoulli(rng, Sigmoid(-3.2 + 0.035 * age)));
  row.Set("heart_disease", Bernoulli(rng, Sigmoid(-5.0 + 0.05 * age + 0.4 * htn)));
  row.Set("chronic_kidney_disease",
          Bernoulli(rng, Sigmoid(-5.6 + 0.045 * age + 0.8 * htn + 0.5 * diabetes)));
  row.Set("emphysema", Bernoulli(rng, Sigmoid(-4.5 + 0.03 * age)));
  row.Set("asthma", Bernoulli(rng, 0.07));
  row.Set("immunodeficiency", Bernoulli(rng, 0.05));
  row.Set("smoker", Bernoulli(rng, 0.10));
  row.Set("sleep_apnea", Bernoulli(rng, Sigmoid(-3.3 + 0.15 * bmi_dev)));
}

Latent DrawLatent(const SiteProfile& site, Random& rng) {
  Latent z;
  z.inflammation = rng.Normal();
  z.lung = 0.7 * z.inflammation + 0.714 * rng.Normal() + site.lung_shift;
  return z;
}

void DrawVitalsAndSymptoms(const Latent& z, Random& rng, Row& row) {
  const double age_dev = row.Get("age") - 62;
  const double htn = row.Get("hypertension");
  row.Set("days_since_onset", std::min(30.0, LogNormal(7, 0.5, rng.Normal())));
  row.Set("spo2", 100 - LogNormal(3.5, 1.0, 0.35 * z.lung + 0.5 * rng.Normal()));
  row.Set("respiratory_rate", 21 + 4.5 * (0.3 * z.lung + 0.954 * rng.Normal()));
  row.Set("heart_rate", 90 + 16 * (0.35 * z.inflammation + 0.94 * rng.Normal()));
  row.Set("temperature", 37.6 + 0.85 * (0.45 * z.inflammation + 0.89 * rng.Normal()), 1);
  const double sbp = 128 + 0.35 * age_dev + 9 * htn + 17 * rng.Normal();
  row.Set("systolic_bp", sbp);
  row.Set("diastolic_bp", 77 - 0.15 * age_dev + 4 * htn + 0.35 * (sbp - 128) -
                              1.5 * z.inflammation + 9 * rng.Normal());
  row.Set("fever", Bernoulli(rng, Sigmoid(1.1 + 0.6 * z.inflammation)));
  row.Set("dyspnea", Bernoulli(rng, Sigmoid(0.1 + 0.6 * z.lung)));
  const std::pair<const char*, double> independent[] = {
      {"cough", 0.70},   {"sputum", 0.22},     {"chest_pain", 0.15},
      {"myalgia", 0.30}, {"digestive", 0.22},  {"headache", 0.22},
      {"anosmia", 0.14}, {"rhinorrhea", 0.10}, {"fatigue", 0.45}};
  for (const auto& [name, p] : independent) row.Set(name, Bernoulli(rng, p));
}

void DrawBiology(const Latent& z, Random& rng, Row& row) {
  const double inf = z.inflammation;
  const double age_dev = row.Get("age") - 62;
  const double ckd = row.Get("chronic_kidney_disease");
  const double cancer = row.Get("cancer");
  row.Set("crp", std::max(0.1, LogNormal(55, 0.95, 0.75 * inf + 0.66 * rng.Normal())), 1);
  row.Set("ldh", LogNormal(320, 0.36, 0.45 * inf + 0.45 * z.lung + 0.77 * rng.Normal()));
  const double neut = LogNormal(4.6, 0.42, 0.5 * inf + 0.866 * rng.Normal());
  const double lymph = LogNormal(0.95, 0.48, -0.35 * inf + 0.94 * rng.Normal() - 0.2 * cancer);
  const double mono = LogNormal(0.5, 0.4, rng.Normal());
  const double leuk = neut + lymph + mono + LogNormal(0.15, 0.3, rng.Normal());
  row.Set("neutrophils", neut, 2);
  row.Set("lymphocytes", lymph, 2);
  row.Set("monocytes", mono, 2);
  row.Set("leukocytes", leuk, 2);
  row.Set("lymphocyte_percent", 100 * row.Get("lymphocytes") / row.Get("leukocytes"), 1);
  row.Set("platelets", LogNormal(205, 0.33, rng.Normal() - 0.15 * inf));
  row.Set("hemoglobin", (row.Get("sex") > 0 ? 138 : 126) - 10 * cancer + 14 * rng.Normal());
  const double urea_noise = rng.Normal();
  row.Set("urea",
          LogNormal(5.6, 1.0, 0.012 * age_dev + 0.55 * ckd + 0.12 * inf + 0.38 * urea_noise), 1);
  row.Set("creatinine", LogNormal(78, 1.0,
                                  0.17 * row.Get("sex") + 0.004 * age_dev + 0.75 * ckd +
                                      0.15 * urea_noise + 0.2 * rng.Normal()));
  row.Set("ddimer", LogNormal(950, 0.7, 0.4 * inf + 0.917 * rng.Normal()));
  row.Set("procalcitonin", std::max(0.01, LogNormal(0.12, 1.0, 0.45 * inf + 0.89 * rng.Normal())),
          2);
  row.Set("ferritin", LogNormal(550, 0.8, 0.35 * inf + 0.94 * rng.Normal()));
  row.Set("alt", LogNormal(32, 0.55, rng.Normal()));
  row.Set("ast", LogNormal(42, 0.5, 0.3 * inf + 0.954 * rng.Normal()));
  row.Set("creatine_kinase", LogNormal(115, 0.85, rng.Normal()));
  row.Set("total_bilirubin", LogNormal(9, 0.45, rng.Normal()), 1);
  row.Set("conjugated_bilirubin", LogNormal(3.2, 0.6, rng.Normal()), 1);
}

}  // namespace scancov::sites::internal
