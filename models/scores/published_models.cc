#include "models/scores/published_models.h"

#include "absl/strings/str_cat.h"

namespace scancov::scores {
namespace {

using T = InputTransform;

constexpr char kRelease[] =
    "Lassau et al. 2021, released model (owkin/scancovia scan_cov_model.py), trained on 646 KB "
    "patients";

LinearModelSpec Make(const char* name, const char* source, std::optional<double> intercept,
                     std::vector<LinearTerm> terms) {
  LinearModelSpec m;
  m.name = name;
  m.source = source;
  m.intercept = intercept;
  m.terms = std::move(terms);
  return m;
}

}  // namespace

const LinearModelSpec& ScanCovReleasedModel() {
  static const LinearModelSpec* const m =
      new LinearModelSpec(Make("scancov_released", kRelease, -2.3138923947470724,
                               {{"spo2", T::kSpo2Deficit, -0.715867705052558},
                                {"disease_extent", T::kIdentity, 0.6344741735315738},
                                {"age", T::kIdentity, 0.023845726941254343},
                                {"sex", T::kIdentity, 0.5481826956249627},
                                {"platelets", T::kLogOffset, -0.8337314547539033},
                                {"urea", T::kLogOffset, 0.5606860212992523}}));
  return *m;
}

const LinearModelSpec& ScanCovPaperModel() {
  static const LinearModelSpec* const m = new LinearModelSpec(Make(
      "scancov_paper", "Lassau et al. 2021, Supp Table 6 (no intercept published)", std::nullopt,
      {{"spo2", T::kSpo2Deficit, -0.745},
       {"disease_extent", T::kIdentity, 0.611},
       {"age", T::kIdentity, 0.025},
       {"sex", T::kIdentity, 0.545},
       {"platelets", T::kLogOffset, -0.838},
       {"urea", T::kLogOffset, 0.608}}));
  return *m;
}

const LinearModelSpec& ClinicalBioModel() {
  static const LinearModelSpec* const m =
      new LinearModelSpec(Make("clinical_bio", kRelease, -6.633691346366725,
                               {{"spo2", T::kSpo2Deficit, -0.7734987379380287},
                                {"age", T::kIdentity, 0.01801136309055773},
                                {"sex", T::kIdentity, 0.5142519676707926},
                                {"ldh", T::kLogOffset, 1.1940053678318288},
                                {"platelets", T::kLogOffset, -1.158777591461933},
                                {"chronic_kidney_disease", T::kIdentity, 0.26417295778519984},
                                {"dyspnea", T::kIdentity, 0.3195490108875548},
                                {"hypertension", T::kIdentity, 0.19583033430499872},
                                {"neutrophils", T::kLogOffset, 0.5041151224479017},
                                {"urea", T::kLogOffset, 0.3927025448161429}}));
  return *m;
}

const LinearModelSpec& RadiologistReportModel() {
  static const LinearModelSpec* const m =
      new LinearModelSpec(Make("radiologist_report", kRelease, -1.72478553,
                               {{"ggo", T::kPresent, -0.67385675},
                                {"crazy_paving", T::kIdentity, 0.40283637},
                                {"consolidation", T::kPresent, -0.0878739},
                                {"peripheral_topography", T::kIdentity, -0.13998417},
                                {"inferior_predominance", T::kIdentity, -0.45379975},
                                {"disease_extent", T::kIdentity, 0.6869313}}));
  return *m;
}

const LinearModelSpec& AiSegmentModel() {
  static const LinearModelSpec* const m =
      new LinearModelSpec(Make("ai_segment_ct", kRelease, -1.861267060140949,
                               {{"ai_ggo_fraction", T::kIdentity, -1.7286270941282955},
                                {"ai_consolidation_fraction", T::kIdentity, 3.2828752888604242},
                                {"ai_crazy_paving_fraction", T::kIdentity, 2.9325930870155235},
                                {"ai_extent_fraction", T::kIdentity, 4.485950268831}}));
  return *m;
}

const LinearModelSpec& AiSegmentTrimodalModel() {
  static const LinearModelSpec* const m =
      new LinearModelSpec(Make("ai_segment_trimodal", kRelease, -1.0383591562158774,
                               {{"spo2", T::kSpo2Deficit, -0.6807632355815612},
                                {"ai_extent_fraction", T::kIdentity, 3.5406023074928723},
                                {"age", T::kIdentity, 0.02086328048247559},
                                {"sex", T::kIdentity, 0.6924592728262375},
                                {"platelets", T::kLogOffset, -0.9178319465213124},
                                {"urea", T::kLogOffset, 0.548335781823739}}));
  return *m;
}

const LinearModelSpec& AiSeverityTrimodalModel() {
  static const LinearModelSpec* const m =
      new LinearModelSpec(Make("ai_severity_trimodal", kRelease, -0.05311807245634939,
                               {{"spo2", T::kSpo2Deficit, -0.5691738927009029},
                                {"ai_severity_probability", T::kLogit, 0.768643675292477},
                                {"age", T::kIdentity, 0.01208368240782795},
                                {"sex", T::kIdentity, 0.4116879766154334},
                                {"platelets", T::kLogOffset, -0.5667267219464422},
                                {"urea", T::kLogOffset, 0.393194190948113}}));
  return *m;
}

const std::vector<const LinearModelSpec*>& PublishedModels() {
  static const std::vector<const LinearModelSpec*>* const all =
      new std::vector<const LinearModelSpec*>{&ScanCovReleasedModel(),   &ScanCovPaperModel(),
                                              &ClinicalBioModel(),       &RadiologistReportModel(),
                                              &AiSegmentModel(),         &AiSegmentTrimodalModel(),
                                              &AiSeverityTrimodalModel()};
  return *all;
}

absl::StatusOr<const LinearModelSpec*> FindPublishedModel(absl::string_view name) {
  for (const LinearModelSpec* model : PublishedModels()) {
    if (model->name == name) return model;
  }
  return absl::NotFoundError(absl::StrCat("published models: no model named '", name, "'"));
}

}  // namespace scancov::scores
