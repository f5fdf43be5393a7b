// The dictionary's rows. Units, limits and alternative units follow French hospital practice
// (the seed's sites) and the seed's Supp Table 6 (SpO2 %, platelets G/L, urea mmol/L).
// The seed's Table 1 (the exact list of its 58 variables) is not in the text we have; the list
// below is reconstructed from its Methods (demographics, clinical examination, symptoms,
// comorbidities, laboratory) and Results, and is documented as such in VARIABLES.md.
#include <vector>

#include "sites/cohort/variables.h"
#include "sites/cohort/variables_internal.h"

namespace scancov::sites::internal {
namespace {

constexpr VariableGroup kDemo = VariableGroup::kDemographics;
constexpr VariableGroup kVital = VariableGroup::kVitalSigns;
constexpr VariableGroup kSymp = VariableGroup::kSymptoms;
constexpr VariableGroup kComo = VariableGroup::kComorbidities;
constexpr VariableGroup kBio = VariableGroup::kBiology;
constexpr VariableGroup kReport = VariableGroup::kRadiologyReport;
constexpr VariableGroup kOut = VariableGroup::kOutcome;

VariableSpec Continuous(std::string name, VariableGroup group, std::string unit, std::string suffix,
                        double min, double max, double median_lo, double median_hi,
                        std::vector<AlternativeUnit> alts, std::string description) {
  VariableSpec s;
  s.name = std::move(name);
  s.type = VariableType::kContinuous;
  s.group = group;
  s.unit = std::move(unit);
  s.header_suffix = std::move(suffix);
  s.min = min;
  s.max = max;
  s.median_lo = median_lo;
  s.median_hi = median_hi;
  s.alternatives = std::move(alts);
  s.description = std::move(description);
  return s;
}

VariableSpec Binary(std::string name, VariableGroup group, std::string description) {
  VariableSpec s;
  s.name = std::move(name);
  s.type = VariableType::kBinary;
  s.group = group;
  s.min = 0;
  s.max = 1;
  s.levels = "0 absent, 1 present";
  s.description = std::move(description);
  return s;
}

VariableSpec Coded(std::string name, VariableType type, int max_code, std::string levels,
                   std::string description) {
  VariableSpec s;
  s.name = std::move(name);
  s.type = type;
  s.group = kReport;
  s.min = 0;
  s.max = max_code;
  s.levels = std::move(levels);
  s.description = std::move(description);
  return s;
}

// Cell counts: G/L (= 10^9/L = 10^3/uL) vs per uL or per mm3.
std::vector<AlternativeUnit> CellCountUnits() {
  return {{"10^9/L", "10e9_L", 1.0, 0.0, "10^9/L is G/L"},
          {"10^3/uL", "10e3_uL", 1.0, 0.0, "10^3/uL is G/L"},
          {"/uL", "per_uL", 1e-3, 0.0, "cells per uL (divide by 1000 for G/L)"},
          {"/mm3", "per_mm3", 1e-3, 0.0, "cells per mm3 (divide by 1000 for G/L)"}};
}

std::vector<AlternativeUnit> BilirubinUnits() {
  return {{"mg/dL", "mg_dL", 17.1, 0.0, "bilirubin in mg/dL (x 17.1 for umol/L)"}};
}

std::vector<VariableSpec> Demographics() {
  VariableSpec sex = Binary("sex", kDemo, "Sex: 1 male, 0 female");
  sex.levels = "0 female, 1 male";
  return {
      Continuous("age", kDemo, "years", "years", 18, 110, 30, 90, {}, "Age at admission"),
      sex,
      Continuous("weight", kDemo, "kg", "kg", 25, 300, 45, 120,
                 {{"lb", "lb", 0.45359237, 0.0, "pounds (x 0.4536 for kg)"}}, "Body weight"),
      Continuous("height", kDemo, "cm", "cm", 120, 220, 145, 190,
                 {{"m", "m", 100.0, 0.0, "metres (x 100 for cm)"},
                  {"in", "in", 2.54, 0.0, "inches (x 2.54 for cm)"}},
                 "Body height"),
      Continuous("bmi", kDemo, "kg/m2", "kg_m2", 12, 80, 18, 40, {}, "Body mass index"),
  };
}

std::vector<VariableSpec> VitalSigns() {
  const AlternativeUnit kpa{"kPa", "kPa", 7.50062, 0.0, "kPa (x 7.5 for mmHg)"};
  return {
      Continuous("days_since_onset", kVital, "days", "days", 0, 60, 1, 20, {},
                 "Days from first symptom to admission"),
      Continuous("heart_rate", kVital, "/min", "per_min", 25, 250, 60, 130, {},
                 "Heart rate at admission"),
      Continuous("temperature", kVital, "degC", "degC", 30, 44, 35.5, 39.8,
                 {{"degF", "degF", 5.0 / 9.0, -32.0 * 5.0 / 9.0, "Fahrenheit ((F-32)/1.8)"}},
                 "Body temperature"),
      Continuous("spo2", kVital, "%", "pct", 50, 100, 80, 100,
                 {{"fraction", "fraction", 100.0, 0.0, "a fraction 0-1 (x 100 for %)"}},
                 "Oxygen saturation (pulse oximetry, room air)"),
      Continuous("respiratory_rate", kVital, "/min", "per_min", 5, 70, 12, 35, {},
                 "Respiratory rate"),
      Continuous("systolic_bp", kVital, "mmHg", "mmHg", 50, 280, 90, 170, {kpa},
                 "Systolic blood pressure"),
      Continuous("diastolic_bp", kVital, "mmHg", "mmHg", 20, 160, 50, 105, {kpa},
                 "Diastolic blood pressure"),
  };
}

std::vector<VariableSpec> Symptoms() {
  return {
      Binary("fever", kSymp, "Fever reported"),
      Binary("cough", kSymp, "Cough"),
      Binary("sputum", kSymp, "Sputum production"),
      Binary("dyspnea", kSymp, "Dyspnea"),
      Binary("chest_pain", kSymp, "Chest pain"),
      Binary("myalgia", kSymp, "Muscle pain"),
      Binary("digestive", kSymp, "Abdominal pain or diarrhoea"),
      Binary("headache", kSymp, "Headache"),
      Binary("anosmia", kSymp, "Anosmia or ageusia"),
      Binary("rhinorrhea", kSymp, "Rhinorrhea"),
      Binary("fatigue", kSymp, "Fatigue / asthenia"),
  };
}

std::vector<VariableSpec> Comorbidities() {
  return {
      Binary("hypertension", kComo, "Systemic hypertension"),
      Binary("diabetes", kComo, "Diabetes mellitus"),
      Binary("asthma", kComo, "Asthma"),
      Binary("heart_disease", kComo, "Heart disease"),
      Binary("emphysema", kComo, "Emphysema / COPD"),
      Binary("immunodeficiency", kComo, "Immunodeficiency"),
      Binary("chronic_kidney_disease", kComo, "Chronic kidney disease"),
      Binary("cancer", kComo, "Active or past cancer"),
      Binary("smoker", kComo, "Current smoker"),
      Binary("sleep_apnea", kComo, "Obstructive sleep apnea"),
      Binary("dyslipidemia", kComo, "Dyslipidemia"),
  };
}

std::vector<VariableSpec> Biology() {
  return {
      Continuous("crp", kBio, "mg/L", "mg_L", 0, 800, 15, 250,
                 {{"mg/dL", "mg_dL", 10.0, 0.0, "CRP in mg/dL (x 10 for mg/L)"}},
                 "C-reactive protein"),
      Continuous("ldh", kBio, "U/L", "U_L", 50, 10000, 150, 900,
                 {{"ukat/L", "ukat_L", 60.0, 0.0, "LDH in ukat/L (x 60 for U/L)"}},
                 "Lactate dehydrogenase"),
      Continuous("neutrophils", kBio, "G/L", "G_L", 0, 150, 1.5, 15, CellCountUnits(),
                 "Polynuclear neutrophils"),
      Continuous("lymphocytes", kBio, "G/L", "G_L", 0, 300, 0.3, 3.5, CellCountUnits(),
                 "Lymphocytes"),
      Continuous("monocytes", kBio, "G/L", "G_L", 0, 100, 0.1, 1.5, CellCountUnits(), "Monocytes"),
      Continuous("leukocytes", kBio, "G/L", "G_L", 0.1, 500, 3, 20, CellCountUnits(),
                 "Leukocytes (white blood cells)"),
      Continuous("platelets", kBio, "G/L", "G_L", 1, 2000, 80, 500, CellCountUnits(), "Platelets"),
      Continuous("hemoglobin", kBio, "g/L", "g_L", 30, 250, 80, 180,
                 {{"g/dL", "g_dL", 10.0, 0.0, "haemoglobin in g/dL (x 10 for g/L)"},
                  {"mmol/L", "mmol_L", 16.11, 0.0, "haemoglobin in mmol/L (x 16.11 for g/L)"}},
                 "Haemoglobin"),
      Continuous("urea", kBio, "mmol/L", "mmol_L", 0.5, 100, 2.5, 20,
                 {{"mg/dL", "mg_dL", 0.1665, 0.0, "urea in mg/dL (x 0.1665 for mmol/L)"},
                  {"BUN mg/dL", "BUN_mg_dL", 0.357, 0.0, "BUN in mg/dL (x 0.357 for mmol/L)"},
                  {"g/L", "g_L", 16.65, 0.0, "urea in g/L (x 16.65 for mmol/L)"}},
                 "Urea"),
      Continuous("creatinine", kBio, "umol/L", "umol_L", 10, 3000, 40, 250,
                 {{"mg/dL", "mg_dL", 88.42, 0.0, "creatinine in mg/dL (x 88.4 for umol/L)"},
                  {"mg/L", "mg_L", 8.842, 0.0, "creatinine in mg/L (x 8.84 for umol/L)"}},
                 "Creatinine"),
      Continuous("ddimer", kBio, "ug/L", "ug_L", 10, 200000, 200, 8000,
                 {{"ng/mL", "ng_mL", 1.0, 0.0, "ng/mL is ug/L"},
                  {"ug/mL", "ug_mL", 1000.0, 0.0, "D-dimer in ug/mL (x 1000 for ug/L)"},
                  {"mg/L", "mg_L", 1000.0, 0.0, "D-dimer in mg/L (x 1000 for ug/L)"}},
                 "D-dimer (FEU)"),
      Continuous("procalcitonin", kBio, "ug/L", "ug_L", 0, 1000, 0.02, 5,
                 {{"ng/mL", "ng_mL", 1.0, 0.0, "ng/mL is ug/L"}}, "Procalcitonin"),
      Continuous("ferritin", kBio, "ug/L", "ug_L", 1, 100000, 50, 3000,
                 {{"ng/mL", "ng_mL", 1.0, 0.0, "ng/mL is ug/L"}}, "Ferritin"),
      Continuous("alt", kBio, "U/L", "U_L", 1, 10000, 10, 150, {},
                 "Alanine aminotransferase (ALAT)"),
      Continuous("ast", kBio, "U/L", "U_L", 1, 10000, 15, 200, {},
                 "Aspartate aminotransferase (ASAT)"),
      Continuous("creatine_kinase", kBio, "U/L", "U_L", 1, 100000, 30, 1500, {}, "Creatine kinase"),
      Continuous("total_bilirubin", kBio, "umol/L", "umol_L", 1, 1000, 3, 40, BilirubinUnits(),
                 "Total bilirubin"),
      Continuous("conjugated_bilirubin", kBio, "umol/L", "umol_L", 0, 800, 0.5, 25,
                 BilirubinUnits(), "Conjugated (direct) bilirubin"),
  };
}

std::vector<VariableSpec> RadiologyReport() {
  return {
      Coded("ggo", VariableType::kCategorical, 2, "0 absent, 1 non-rounded, 2 rounded",
            "Ground-glass opacities"),
      Coded("consolidation", VariableType::kCategorical, 2, "0 absent, 1 non-rounded, 2 rounded",
            "Consolidation"),
      Coded("crazy_paving", VariableType::kBinary, 1, "0 absent, 1 present",
            "Crazy-paving pattern"),
      Coded("peripheral_topography", VariableType::kBinary, 1, "0 absent, 1 present",
            "Lesions in the outer third of the lung"),
      Coded("inferior_predominance", VariableType::kBinary, 1, "0 absent, 1 present",
            "Predominance of lesions in the lower segments"),
      Coded("disease_extent", VariableType::kOrdinal, 5,
            "0 none, 1 <10%, 2 10-25%, 3 25-50%, 4 50-75%, 5 >75%",
            "Disease extent (French Society of Radiology scale)"),
  };
}

// Not among the seed's 58; carried by external cohorts (Yan et al.'s rule uses lymphocyte %).
std::vector<VariableSpec> ExtraLaboratory() {
  VariableSpec lymph_pct = Continuous("lymphocyte_percent", kBio, "%", "pct", 0, 100, 3, 40,
                                      {{"fraction", "fraction", 100.0, 0.0, "a fraction 0-1"}},
                                      "Lymphocytes as % of leukocytes");
  lymph_pct.seed_variable = false;
  return {lymph_pct};
}

}  // namespace

std::vector<VariableSpec> BuildAdmissionTable() {
  std::vector<VariableSpec> all;
  for (auto part : {Demographics(), VitalSigns(), Symptoms(), Comorbidities(), Biology(),
                    RadiologyReport(), ExtraLaboratory()}) {
    for (auto& spec : part) all.push_back(std::move(spec));
  }
  return all;
}

std::vector<VariableSpec> BuildOutcomeTable() {
  std::vector<VariableSpec> out = {
      Binary("severe", kOut,
             "Severe progression: O2 flow >= 15 L/min, mechanical ventilation or death"),
      Binary("death", kOut, "In-hospital death"),
      Binary("icu", kOut, "Admission to intensive care"),
      Continuous("time_to_event_days", kOut, "days", "days", 0, 365, 0, -1, {},
                 "Days from admission to severe progression, or to censoring"),
      Binary("event", kOut, "1 if time_to_event_days ends in severe progression, 0 censored"),
  };
  for (auto& s : out) s.seed_variable = false;
  return out;
}

}  // namespace scancov::sites::internal
