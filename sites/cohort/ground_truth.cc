#include "sites/cohort/ground_truth.h"

#include <cmath>
#include <string>
#include <vector>

#include "sites/cohort/variables.h"

namespace scancov::sites {
namespace {

// Variables without a direct effect on severity and generated independently of all variables
// with one (see cohort_generator.cc). Everything not listed here or in the severity model is
// kIndirect.
const std::vector<std::string>& NullVariableNames() {
  static const auto* names = new std::vector<std::string>{"bmi",
                                                          "days_since_onset",
                                                          "cough",
                                                          "sputum",
                                                          "chest_pain",
                                                          "myalgia",
                                                          "digestive",
                                                          "headache",
                                                          "anosmia",
                                                          "rhinorrhea",
                                                          "fatigue",
                                                          "asthma",
                                                          "immunodeficiency",
                                                          "smoker",
                                                          "sleep_apnea",
                                                          "cancer",
                                                          "monocytes",
                                                          "alt",
                                                          "creatine_kinase",
                                                          "total_bilirubin",
                                                          "conjugated_bilirubin"};
  return *names;
}

}  // namespace

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double ApplyTransform(Transform t, double x) {
  switch (t) {
    case Transform::kIdentity:
      return x;
    case Transform::kLog:
      return std::log(x);
    case Transform::kSpo2Deficit:
      return -std::log(1.0 + 100.0 - x);
    case Transform::kLog1p:
      return std::log1p(x);
  }
  return x;
}

const char* TransformName(Transform t) {
  switch (t) {
    case Transform::kIdentity:
      return "x";
    case Transform::kLog:
      return "log(x)";
    case Transform::kSpo2Deficit:
      return "-log(1 + 100 - x)";
    case Transform::kLog1p:
      return "log(1 + x)";
  }
  return "?";
}

double OutcomeModel::LinearPredictor(const std::function<double(absl::string_view)>& value,
                                     double site_shift) const {
  double lp = intercept + site_shift;
  for (const ModelTerm& t : terms) {
    lp += t.coefficient * (ApplyTransform(t.transform, value(t.variable)) - t.center) / t.scale;
  }
  return lp;
}

// Coefficients calibrated (sites/cohort/calibration_test.cc prints the check) so that the
// univariate OR per SD in a large generated KB cohort is close to the seed's KB OR.
const OutcomeModel& SeverityModel() {
  static const auto* model =
      new OutcomeModel{"severe",
                       "O2 flow >= 15 L/min, mechanical ventilation or death (WHO >= 5)",
                       -1.45,
                       {
                           {"age", Transform::kIdentity, 62.0, 17.0, 0.48},
                           {"sex", Transform::kIdentity, 0.0, 1.0, 0.99},
                           {"hypertension", Transform::kIdentity, 0.0, 1.0, 0.58},
                           {"chronic_kidney_disease", Transform::kIdentity, 0.0, 1.0, 0.55},
                           {"respiratory_rate", Transform::kIdentity, 22.0, 5.0, 0.08},
                           {"spo2", Transform::kSpo2Deficit, -1.7, 0.6, -0.98},
                           {"diastolic_bp", Transform::kIdentity, 76.0, 13.0, -0.51},
                           {"crp", Transform::kLog, 4.09, 0.95, 0.04},
                           {"ldh", Transform::kLog, 5.80, 0.38, 0.31},
                           {"neutrophils", Transform::kLog, 1.50, 0.45, 0.07},
                           {"urea", Transform::kLog, 1.79, 0.50, 0.27},
                           {"platelets", Transform::kLog, 5.30, 0.38, -0.15},
                           {"disease_extent", Transform::kIdentity, 2.2, 1.1, 0.36},
                           {"crazy_paving", Transform::kIdentity, 0.0, 1.0, 0.29},
                           {"peripheral_topography", Transform::kIdentity, 0.0, 1.0, -0.58},
                       }};
  return *model;
}

const OutcomeModel& DeathGivenSevereModel() {
  static const auto* model =
      new OutcomeModel{"death | severe",
                       "in-hospital death among severe patients (AI-SCoRE variables, cancer, CKD)",
                       -0.30,
                       {
                           {"age", Transform::kIdentity, 62.0, 17.0, 0.90},
                           {"sex", Transform::kIdentity, 0.0, 1.0, 0.25},
                           {"spo2", Transform::kSpo2Deficit, -1.7, 0.6, -0.35},
                           {"extent_fraction", Transform::kIdentity, 0.20, 0.18, 0.35},
                           {"calcium_volume_mm3", Transform::kLog1p, 3.5, 2.5, 0.35},
                           {"cancer", Transform::kIdentity, 0.0, 1.0, 0.70},
                           {"chronic_kidney_disease", Transform::kIdentity, 0.0, 1.0, 0.50},
                       }};
  return *model;
}

const OutcomeModel& IcuGivenSevereModel() {
  static const auto* model = new OutcomeModel{
      "icu | severe",
      "ICU admission among severe patients (limitation of care for the old and for cancer)",
      0.60,
      {
          {"age", Transform::kIdentity, 62.0, 17.0, -0.80},
          {"cancer", Transform::kIdentity, 0.0, 1.0, -1.20},
          {"extent_fraction", Transform::kIdentity, 0.20, 0.18, 0.30},
      }};
  return *model;
}

const std::vector<SeedOddsRatio>& SeedSeverityOddsRatios() {
  static const auto* ors = new std::vector<SeedOddsRatio>{
      {"age", 1.66, 1.41, 1.96, 1.35, 0.92, 1.98, 5.25e-10},
      {"sex", 1.95, 1.41, 2.69, 1.07, 0.51, 2.23, 5.75e-05},
      {"hypertension", 1.84, 1.35, 2.51, 1.11, 0.51, 2.42, 1.11e-04},
      {"chronic_kidney_disease", 2.51, 1.62, 3.89, 16.59, 1.93, 142.84, 6.71e-06},
      {"respiratory_rate", 1.34, 1.13, 1.59, 3.37, 1.28, 8.86, 2.14e-04},
      {"spo2", 0.38, 0.31, 0.47, 0.35, 0.20, 0.63, 2.91e-21},
      {"diastolic_bp", 0.70, 0.59, 0.83, 0.75, 0.51, 1.11, 1.35e-05},
      {"crp", 1.47, 1.25, 1.72, 1.48, 1.03, 2.14, 4.48e-07},
      {"ldh", 2.05, 1.65, 2.54, 2.36, 1.32, 4.21, 6.05e-12},
      {"neutrophils", 1.36, 1.13, 1.60, 1.15, 0.80, 1.64, 1.29e-04},
      {"urea", 1.70, 1.43, 2.01, 2.19, 1.36, 3.52, 9.17e-11},
      {"disease_extent", 2.37, 1.97, 2.86, 1.62, 1.11, 2.37, 9.56e-21},
      {"crazy_paving", 2.50, 1.82, 3.44, 2.37, 1.10, 5.11, 3.10e-09},
      {"peripheral_topography", 0.54, 0.39, 0.74, 0.55, 0.23, 1.31, 8.21e-05},
  };
  return *ors;
}

Association SeverityAssociation(absl::string_view variable) {
  for (const SeedOddsRatio& o : SeedSeverityOddsRatios()) {
    if (o.variable == variable) return Association::kSignificant;
  }
  for (const ModelTerm& t : SeverityModel().terms) {
    if (t.variable == variable) return Association::kWeak;
  }
  for (const std::string& n : NullVariableNames()) {
    if (n == variable) return Association::kNull;
  }
  return Association::kIndirect;
}

std::vector<std::string> VariablesWith(Association association) {
  std::vector<std::string> out;
  for (const VariableSpec& spec : AdmissionVariables()) {
    if (SeverityAssociation(spec.name) == association) out.push_back(spec.name);
  }
  return out;
}

const char* AssociationName(Association association) {
  switch (association) {
    case Association::kSignificant:
      return "significant";
    case Association::kWeak:
      return "weak";
    case Association::kIndirect:
      return "indirect";
    case Association::kNull:
      return "null";
  }
  return "?";
}

}  // namespace scancov::sites
