#include "models/scores/covid_gram.h"

#include <cmath>
#include <optional>

#include "core/status_macros.h"
#include "models/scores/linear_model.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "covid-gram";

constexpr absl::string_view kComorbidityFlags[] = {
    "emphysema", "hypertension",    "diabetes", "heart_disease", "chronic_kidney_disease",
    "cancer",    "immunodeficiency"};

// Lymphocytes are offset by this (G/L) in the NLR's denominator.
constexpr double kLymphocyteOffset = 0.01;

// imaging_abnormality, else disease_extent > 0, else nullopt.
absl::StatusOr<std::optional<double>> ImagingAbnormality(const PatientInputs& inputs) {
  SCV_ASSIGN_OR_RETURN(const std::optional<double> direct,
                       OptionalInput(inputs, "imaging_abnormality", kWhere));
  if (direct.has_value()) return direct;
  SCV_ASSIGN_OR_RETURN(const std::optional<double> extent,
                       OptionalInput(inputs, "disease_extent", kWhere));
  if (!extent.has_value()) return std::optional<double>();
  return std::optional<double>(*extent > 0.0 ? 1.0 : 0.0);
}

// comorbidity_count, else the sum of the present flags (missing ones recorded as absent).
absl::StatusOr<double> ComorbidityCount(const PatientInputs& inputs,
                                        std::vector<std::string>& assumed_absent) {
  SCV_ASSIGN_OR_RETURN(const std::optional<double> direct,
                       OptionalInput(inputs, "comorbidity_count", kWhere));
  if (direct.has_value()) return *direct;
  SCV_ASSIGN_OR_RETURN(const std::vector<std::optional<double>> flags,
                       OptionalInputs(inputs, kComorbidityFlags, kWhere));
  double count = 0.0;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i].has_value()) {
      count += *flags[i];
    } else {
      assumed_absent.push_back(std::string(kComorbidityFlags[i]));
    }
  }
  return count;
}

}  // namespace

const std::vector<std::string>& CovidGramInputs() {
  static const auto* inputs = [] {
    auto* out = new std::vector<std::string>{"imaging_abnormality", "disease_extent", "hemoptysis",
                                             "unconsciousness", "comorbidity_count"};
    for (absl::string_view flag : kComorbidityFlags) out->emplace_back(flag);
    for (const char* name :
         {"age", "dyspnea", "neutrophils", "lymphocytes", "ldh", "conjugated_bilirubin"}) {
      out->emplace_back(name);  // cancer is a comorbidity flag too
    }
    return out;
  }();
  return *inputs;
}

absl::StatusOr<CovidGramResult> CovidGram(const PatientInputs& inputs, bool strict) {
  CovidGramResult result;
  SCV_ASSIGN_OR_RETURN(const std::optional<double> imaging, ImagingAbnormality(inputs));
  SCV_ASSIGN_OR_RETURN(const std::vector<std::optional<double>> optional,
                       OptionalInputs(inputs, {"hemoptysis", "unconsciousness"}, kWhere));
  if (!optional[0].has_value()) result.assumed_absent.push_back("hemoptysis");
  if (!optional[1].has_value()) result.assumed_absent.push_back("unconsciousness");
  SCV_ASSIGN_OR_RETURN(const double comorbidities, ComorbidityCount(inputs, result.assumed_absent));
  // Required inputs, checked after the optional ones so that every implausible value is
  // reported before anything missing.
  constexpr absl::string_view kRequired[] = {
      "age", "dyspnea", "cancer", "neutrophils", "lymphocytes", "ldh", "conjugated_bilirubin"};
  absl::StatusOr<std::vector<double>> required = CollectInputs(inputs, kRequired, kWhere);
  if (!required.ok() && !absl::IsFailedPrecondition(required.status())) return required.status();
  std::vector<std::string> missing;
  if (!imaging.has_value()) missing.push_back("imaging_abnormality");
  if (!required.ok()) {
    for (absl::string_view name : kRequired) {
      if (!inputs.Has(name)) missing.push_back(std::string(name));
    }
  }
  if (strict)
    missing.insert(missing.end(), result.assumed_absent.begin(), result.assumed_absent.end());
  if (!missing.empty()) return MissingInputsError(kWhere, missing);

  const double age = (*required)[0], dyspnea = (*required)[1], cancer = (*required)[2];
  const double neutrophils = (*required)[3], lymphocytes = (*required)[4], ldh = (*required)[5];
  const double bilirubin = (*required)[6];
  const double nlr = neutrophils / (lymphocytes + kLymphocyteOffset);
  double lp = std::log(0.001);
  lp += std::log(3.39) * *imaging;
  lp += std::log(1.03) * age;
  lp += std::log(4.53) * optional[0].value_or(0.0);
  lp += std::log(1.88) * dyspnea;
  lp += std::log(4.71) * optional[1].value_or(0.0);
  lp += std::log(1.60) * comorbidities;
  lp += std::log(4.07) * cancer;
  lp += std::log(1.06) * nlr;
  lp += std::log(1.002) * ldh;
  lp += std::log(1.15) * bilirubin;
  result.linear_predictor = lp;
  result.probability = Sigmoid(lp);
  return result;
}

CovidGramGroup CovidGramGroupOf(double probability) {
  if (probability < 0.017) return CovidGramGroup::kLow;
  if (probability <= 0.404) return CovidGramGroup::kMedium;
  return CovidGramGroup::kHigh;
}

}  // namespace scancov::scores
