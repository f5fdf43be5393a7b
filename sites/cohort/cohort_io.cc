#include "sites/cohort/cohort_io.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "nlohmann/json.hpp"
#include "sites/cohort/ground_truth.h"
#include "sites/cohort/variables.h"

namespace scancov::sites {
namespace {

std::string HeaderFor(const VariableSpec& spec, bool suffixed) {
  if (!suffixed || spec.header_suffix.empty()) return spec.name;
  return absl::StrCat(spec.name, "_", spec.header_suffix);
}

nlohmann::json ModelJson(const OutcomeModel& model) {
  nlohmann::json terms = nlohmann::json::array();
  for (const ModelTerm& t : model.terms) {
    terms.push_back({{"variable", t.variable},
                     {"transform", TransformName(t.transform)},
                     {"center", t.center},
                     {"scale", t.scale},
                     {"coefficient", t.coefficient}});
  }
  return {{"outcome", model.outcome},
          {"description", model.description},
          {"intercept", model.intercept},
          {"terms", terms}};
}

nlohmann::json ProfileJson(const SiteProfile& p) {
  return {{"name", p.name},
          {"id_prefix", p.id_prefix},
          {"patients", p.patients},
          {"cancer_rate", p.cancer_rate},
          {"age_mean", p.age_mean},
          {"age_sd", p.age_sd},
          {"male_rate", p.male_rate},
          {"lung_shift", p.lung_shift},
          {"severity_shift", p.severity_shift},
          {"death_shift", p.death_shift},
          {"icu_shift", p.icu_shift},
          {"missing_scale", p.missing_scale}};
}

nlohmann::json PatientJson(const SyntheticPatient& p) {
  const ImagingParams& im = p.imaging;
  return {{"patient_id", p.patient_id},
          {"severity_probability", p.severity_probability},
          {"death_probability", p.death_probability},
          {"severe", p.outcomes.severe},
          {"death", p.outcomes.death},
          {"icu", p.outcomes.icu},
          {"mechanical_ventilation", p.outcomes.mechanical_ventilation},
          {"time_to_event_days", p.outcomes.time_to_event_days},
          {"event", p.outcomes.event},
          {"imaging",
           {{"extent_fraction_left", im.extent_fraction_left},
            {"extent_fraction_right", im.extent_fraction_right},
            {"ggo_fraction", im.ggo_fraction},
            {"crazy_paving_fraction", im.crazy_paving_fraction},
            {"consolidation_fraction", im.consolidation_fraction},
            {"peripheral", im.peripheral},
            {"inferior_predominance", im.inferior_predominance},
            {"calcium_volume_mm3", im.calcium_volume_mm3},
            {"endotracheal_tube", im.endotracheal_tube},
            {"central_venous_catheter", im.central_venous_catheter},
            {"ecg_leads", im.ecg_leads}}}};
}

nlohmann::json AssociationsJson() {
  nlohmann::json out = nlohmann::json::object();
  for (const VariableSpec& spec : AdmissionVariables()) {
    out[spec.name] = AssociationName(SeverityAssociation(spec.name));
  }
  return out;
}

nlohmann::json SeedOddsRatiosJson() {
  nlohmann::json out = nlohmann::json::array();
  for (const SeedOddsRatio& o : SeedSeverityOddsRatios()) {
    out.push_back({{"variable", o.variable},
                   {"kb", {o.kb, o.kb_lo, o.kb_hi}},
                   {"igr", {o.igr, o.igr_lo, o.igr_hi}},
                   {"p_stouffer", o.p_stouffer}});
  }
  return out;
}

}  // namespace

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "";
  char buf[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string AdmissionCsv(const SyntheticSite& site, const CsvWriteOptions& options) {
  std::vector<const VariableSpec*> columns;
  for (const auto& s : AdmissionVariables()) columns.push_back(&s);
  if (options.include_outcomes) {
    for (const auto& s : OutcomeVariables()) columns.push_back(&s);
  }
  std::vector<std::string> header = {kPatientIdColumn};
  if (options.include_identifiers) {
    header.push_back("name");
    header.push_back("birth_date");
  }
  for (const VariableSpec* s : columns)
    header.push_back(HeaderFor(*s, options.unit_suffixed_headers));
  std::string out = absl::StrJoin(header, ",") + "\n";
  for (const SyntheticPatient& p : site.patients) {
    std::vector<std::string> cells = {p.patient_id};
    if (options.include_identifiers) {
      cells.push_back(absl::StrCat("\"", p.name, "\""));  // the name holds a comma
      cells.push_back(p.birth_date);
    }
    for (const VariableSpec* s : columns) cells.push_back(FormatNumber(p.Value(s->name)));
    absl::StrAppend(&out, absl::StrJoin(cells, ","), "\n");
  }
  return out;
}

absl::Status WriteAdmissionCsv(const SyntheticSite& site, const std::string& path,
                               const CsvWriteOptions& options) {
  return WriteFileAtomic(path, AdmissionCsv(site, options));
}

std::string GroundTruthJson(const SyntheticSite& site) {
  nlohmann::json patients = nlohmann::json::array();
  for (const SyntheticPatient& p : site.patients) patients.push_back(PatientJson(p));
  nlohmann::json j = {{"site", ProfileJson(site.profile)},
                      {"seed", site.seed},
                      {"note", "synthetic data: identifiers, names and birth dates are fake"},
                      {"models",
                       {ModelJson(SeverityModel()), ModelJson(DeathGivenSevereModel()),
                        ModelJson(IcuGivenSevereModel())}},
                      {"icu_given_not_severe", kIcuGivenNotSevere},
                      {"ventilated_given_icu_severe", kVentilatedGivenIcuSevere},
                      {"seed_odds_ratios", SeedOddsRatiosJson()},
                      {"severity_association", AssociationsJson()},
                      {"patients", patients}};
  return j.dump(2) + "\n";
}

absl::Status WriteGroundTruthJson(const SyntheticSite& site, const std::string& path) {
  return WriteFileAtomic(path, GroundTruthJson(site));
}

}  // namespace scancov::sites
