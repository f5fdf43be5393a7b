#include "sites/cohort/cohort_generator.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "sites/cohort/patient_draw.h"
#include "sites/cohort/variables.h"

namespace scancov::sites {
namespace {

// splitmix64: decorrelates the per-patient streams derived from (seed, site, index).
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t Fnv1a(absl::string_view s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

SyntheticPatient GeneratePatient(const SiteProfile& site, uint64_t stream_seed, int index) {
  Random rng(Mix(stream_seed ^ Mix(static_cast<uint64_t>(index))));
  SyntheticPatient p;
  p.complete.assign(AdmissionVariables().size(), std::nan(""));
  internal::Row row(&p.complete);
  internal::DrawDemographics(site, rng, row);
  internal::DrawComorbidities(rng, row);
  const internal::Latent z = internal::DrawLatent(site, rng);
  internal::DrawVitalsAndSymptoms(z, rng, row);
  internal::DrawBiology(z, rng, row);
  internal::DrawImagingAndReport(z, rng, row, p.imaging);
  internal::DrawOutcomes(site, rng, p);
  internal::ApplyMissingness(site, rng, p);
  internal::DrawFakeIdentity(site, index, rng, p);
  return p;
}

}  // namespace

absl::StatusOr<SiteProfile> NamedSiteProfile(absl::string_view name) {
  SiteProfile p;
  p.name = std::string(name);
  if (name == "kb") {
    // Kremlin-Bicetre: general COVID-19 admissions, few cancer patients (7%).
    p.id_prefix = "KB";
    p.patients = 800;
    return p;
  }
  if (name == "igr") {
    // Gustave Roussy: a cancer centre (80% cancer), fewer men, less ICU for the severe
    // (limitation of care); more deaths among the severe through the death model's cancer term.
    p.id_prefix = "IGR";
    p.patients = 140;
    p.cancer_rate = 0.80;
    p.age_mean = 61.0;
    p.age_sd = 13.0;
    p.male_rate = 0.50;
    p.lung_shift = 0.1;
    p.severity_shift = 0.1;
    p.death_shift = -0.1;
    p.icu_shift = -0.6;
    p.missing_scale = 1.2;
    return p;
  }
  return absl::NotFoundError(
      absl::StrCat("site profile: no named site '", name, "' (named sites: kb, igr)"));
}

SiteProfile GenericSiteProfile(absl::string_view name, int patients, double case_mix_shift) {
  const double s = std::clamp(case_mix_shift, -1.0, 1.0);
  SiteProfile p;
  p.name = std::string(name);
  p.id_prefix = absl::AsciiStrToUpper(name);
  p.patients = patients;
  p.age_mean = 63.0 + 8.0 * s;
  p.cancer_rate = std::clamp(0.07 + 0.10 * s, 0.0, 1.0);
  p.lung_shift = 0.3 * s;
  p.severity_shift = 0.3 * s;
  p.death_shift = 0.2 * s;
  p.icu_shift = -0.3 * s;
  p.missing_scale = 1.0 + 0.3 * std::abs(s);
  return p;
}

absl::StatusOr<SiteProfile> SiteProfileFor(absl::string_view name, int patients,
                                           double case_mix_shift) {
  if (name.empty()) return absl::InvalidArgumentError("site profile: empty site name");
  absl::StatusOr<SiteProfile> named = NamedSiteProfile(name);
  if (named.ok()) {
    if (patients > 0) named->patients = patients;
    return named;
  }
  if (patients <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("site profile: site '", name, "' is not a named site; give its size"));
  }
  return GenericSiteProfile(name, patients, case_mix_shift);
}

double SyntheticPatient::Value(absl::string_view name) const {
  const int i = AdmissionIndex(name);
  if (i >= 0) return observed.empty() ? std::nan("") : observed[i];
  if (name == "severe") return outcomes.severe;
  if (name == "death") return outcomes.death;
  if (name == "icu") return outcomes.icu;
  if (name == "time_to_event_days") return outcomes.time_to_event_days;
  if (name == "event") return outcomes.event;
  return std::nan("");
}

double SyntheticPatient::CompleteValue(absl::string_view name) const {
  const int i = AdmissionIndex(name);
  return i < 0 || complete.empty() ? std::nan("") : complete[i];
}

SyntheticSite GenerateSite(const SiteProfile& profile, uint64_t seed) {
  SyntheticSite site;
  site.profile = profile;
  site.seed = seed;
  const uint64_t stream_seed = Mix(seed) ^ Fnv1a(profile.name);
  site.patients.reserve(std::max(0, profile.patients));
  for (int i = 0; i < profile.patients; ++i) {
    site.patients.push_back(GeneratePatient(profile, stream_seed, i));
  }
  return site;
}

}  // namespace scancov::sites
