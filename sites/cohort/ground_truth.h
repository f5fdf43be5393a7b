// The ground-truth outcome models of the synthetic cohorts, exposed so that tests and
// analyses can check that they recover them.
//
// Severity (the seed's outcome: O2 >= 15 L/min, mechanical ventilation or death) is drawn from
// a logistic model whose terms are the 14 variables the seed found significant, with
// coefficients chosen so that the *marginal* (univariate) odds ratio per standard deviation in a
// generated KB cohort lands close to the seed's KB odds ratio (the conditional coefficients are
// smaller because these variables are correlated). Death and ICU admission are drawn among
// severe patients from their own models (death: AI-SCoRE's variables; ICU: younger, non-cancer
// patients are admitted more often). See VARIABLES.md for the full description.
//
// Every term is coefficient * (T(x) - center) / scale, T the term's transform: a coefficient is
// the conditional log odds ratio per `scale` units of T(x) (about one SD in KB).
#ifndef SCANCOV_SITES_COHORT_GROUND_TRUTH_H_
#define SCANCOV_SITES_COHORT_GROUND_TRUTH_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace scancov::sites {

enum class Transform {
  kIdentity,
  kLog,          // log(x)
  kSpo2Deficit,  // -log(1 + 100 - x), as in the ScanCov score
  kLog1p,        // log(1 + x), for calcium volumes with zeros
};

// What a univariate, within-site analysis of severity should find for a variable.
enum class Association {
  kSignificant,  // direct effect, significant in the seed (the 14 of its Table 1)
  kWeak,         // direct effect smaller than the seed could detect (platelets)
  kIndirect,     // no direct effect, correlated with variables that have one
  kNull,         // no direct effect and generated independently of every variable that has
                 // one: expect no association (within a site; sites differ in case mix)
};

struct ModelTerm {
  std::string variable;  // admission variable, or an imaging parameter ("extent_fraction",
                         // "calcium_volume_mm3")
  Transform transform = Transform::kIdentity;
  double center = 0.0;
  double scale = 1.0;
  double coefficient = 0.0;  // conditional log-odds per `scale` of T(x)
};

struct OutcomeModel {
  std::string outcome;      // "severe", "death | severe", "icu | severe"
  std::string description;  // one line
  double intercept = 0.0;
  std::vector<ModelTerm> terms;

  // intercept + site_shift + sum of terms; `value` returns a term variable's complete value.
  double LinearPredictor(const std::function<double(absl::string_view)>& value,
                         double site_shift) const;
};

// The seed's per-site odds ratios (per SD for continuous variables) for its 14 significant
// variables, with 95% CIs and the Stouffer p-value (Lassau et al. 2021, Results).
struct SeedOddsRatio {
  std::string variable;
  double kb, kb_lo, kb_hi;
  double igr, igr_lo, igr_hi;
  double p_stouffer;
};

const OutcomeModel& SeverityModel();
// Probability of death among severe patients (death implies severe by the seed's definition).
const OutcomeModel& DeathGivenSevereModel();
// Probability of ICU admission among severe patients.
const OutcomeModel& IcuGivenSevereModel();
// ICU admission probability of non-severe patients (monitoring).
inline constexpr double kIcuGivenNotSevere = 0.04;
// Share of severe ICU patients who are mechanically ventilated.
inline constexpr double kVentilatedGivenIcuSevere = 0.65;

const std::vector<SeedOddsRatio>& SeedSeverityOddsRatios();

// The expected univariate association of an admission variable with severity.
Association SeverityAssociation(absl::string_view variable);
// Admission variables with the given association, in dictionary order.
std::vector<std::string> VariablesWith(Association association);
const char* AssociationName(Association association);

double ApplyTransform(Transform t, double x);
const char* TransformName(Transform t);
double Sigmoid(double x);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_COHORT_GROUND_TRUTH_H_
