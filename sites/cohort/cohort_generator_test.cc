#include "sites/cohort/cohort_generator.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sites/cohort/ground_truth.h"
#include "sites/cohort/variables.h"

namespace scancov::sites {
namespace {

SyntheticSite Kb(uint64_t seed = 7) { return GenerateSite(*NamedSiteProfile("kb"), seed); }

double Mean(const SyntheticSite& site, const char* name, int severe = -1) {
  double sum = 0;
  int n = 0;
  for (const auto& p : site.patients) {
    if (severe >= 0 && p.outcomes.severe != (severe == 1)) continue;
    const double v = p.Value(name);
    if (std::isnan(v)) continue;
    sum += v;
    ++n;
  }
  return n ? sum / n : std::nan("");
}

int Present(const SyntheticSite& site, const char* name) {
  int n = 0;
  for (const auto& p : site.patients) n += !std::isnan(p.Value(name));
  return n;
}

TEST(CohortGeneratorTest, DeterministicBySeed) {
  const SyntheticSite a = Kb(7), b = Kb(7), c = Kb(8);
  ASSERT_EQ(a.patients.size(), b.patients.size());
  int differ = 0;
  for (size_t i = 0; i < a.patients.size(); ++i) {
    EXPECT_EQ(a.patients[i].patient_id, b.patients[i].patient_id);
    EXPECT_EQ(a.patients[i].name, b.patients[i].name);
    for (size_t j = 0; j < a.patients[i].complete.size(); ++j) {
      EXPECT_EQ(a.patients[i].complete[j], b.patients[i].complete[j]);
    }
    EXPECT_EQ(a.patients[i].outcomes.severe, b.patients[i].outcomes.severe);
    differ += a.patients[i].complete != c.patients[i].complete;
  }
  EXPECT_GT(differ, 700);
}

TEST(CohortGeneratorTest, PatientDoesNotDependOnCohortSize) {
  SiteProfile small = *NamedSiteProfile("kb");
  small.patients = 10;
  const SyntheticSite s = GenerateSite(small, 7), full = Kb(7);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.patients[i].complete, full.patients[i].complete);
}

TEST(CohortGeneratorTest, SiteSizesAndCaseMix) {
  const SyntheticSite kb = Kb();
  const SyntheticSite igr = GenerateSite(*NamedSiteProfile("igr"), 7);
  EXPECT_EQ(kb.patients.size(), 800u);
  EXPECT_EQ(igr.patients.size(), 140u);
  EXPECT_LT(Mean(kb, "cancer"), 0.12);
  EXPECT_GT(Mean(igr, "cancer"), 0.70);
  EXPECT_EQ(kb.patients[122].patient_id, "KB-000123");
  EXPECT_EQ(igr.patients[0].patient_id.rfind("IGR-", 0), 0u);
  EXPECT_FALSE(NamedSiteProfile("nowhere").ok());
  const SiteProfile older = GenericSiteProfile("site3", 300, 1.0);
  const SyntheticSite s3 = GenerateSite(older, 7);
  EXPECT_EQ(s3.patients.size(), 300u);
  EXPECT_EQ(s3.patients[0].patient_id, "SITE3-000001");
  EXPECT_GT(Mean(s3, "age"), Mean(kb, "age") + 4);
  EXPECT_FALSE(SiteProfileFor("site4", 0, 0.0).ok());
  EXPECT_EQ(SiteProfileFor("igr", 50, 0.0)->patients, 50);
}

TEST(CohortGeneratorTest, MarginalsWithinPlausibleRanges) {
  const SyntheticSite kb = Kb();
  for (const auto& p : kb.patients) {
    for (size_t j = 0; j < p.observed.size(); ++j) {
      const double v = p.observed[j];
      if (!std::isnan(v)) {
        EXPECT_TRUE(AdmissionVariables()[j].Accepts(v)) << AdmissionVariables()[j].name;
      }
    }
    const ImagingParams& im = p.imaging;
    EXPECT_NEAR(im.ggo_fraction + im.crazy_paving_fraction + im.consolidation_fraction, 1.0, 1e-9);
    EXPECT_GE(im.calcium_volume_mm3, 0.0);
  }
  EXPECT_NEAR(Mean(kb, "age"), 63, 4);
  EXPECT_NEAR(Mean(kb, "sex"), 0.6, 0.06);
  EXPECT_GT(Mean(kb, "spo2"), 90);
  EXPECT_GT(Mean(kb, "hypertension"), 0.3);
  EXPECT_LT(Mean(kb, "hypertension"), 0.6);
  EXPECT_NEAR(Mean(kb, "urea"), 7, 2.5);
  EXPECT_NEAR(Mean(kb, "platelets"), 215, 40);
}

TEST(CohortGeneratorTest, MissingnessLikeTheSeed) {
  const SyntheticSite kb = Kb();
  EXPECT_LT(Present(kb, "procalcitonin"), 300);  // dropped by the seed's < 300 rule
  EXPECT_LT(Present(kb, "alt"), 300);
  EXPECT_LT(Present(kb, "conjugated_bilirubin"), 300);
  EXPECT_GT(Present(kb, "spo2"), 740);
  EXPECT_GT(Present(kb, "age"), 799);
  EXPECT_LT(Present(kb, "bmi"), 500);  // anthropometrics often not charted
}

TEST(CohortGeneratorTest, KnownAssociationsAppear) {
  const SyntheticSite kb = Kb();
  EXPECT_LT(Mean(kb, "spo2", 1), Mean(kb, "spo2", 0) - 1.5);
  EXPECT_GT(Mean(kb, "age", 1), Mean(kb, "age", 0) + 3);
  EXPECT_GT(Mean(kb, "disease_extent", 1), Mean(kb, "disease_extent", 0) + 0.4);
  EXPECT_GT(Mean(kb, "ldh", 1), Mean(kb, "ldh", 0));
  EXPECT_GT(Mean(kb, "urea", 1), Mean(kb, "urea", 0));
  EXPECT_LT(Mean(kb, "peripheral_topography", 1), Mean(kb, "peripheral_topography", 0));
  // Death implies severe; age drives calcium.
  double young_ca = 0, old_ca = 0;
  int young = 0, old = 0;
  for (const auto& p : kb.patients) {
    EXPECT_TRUE(!p.outcomes.death || p.outcomes.severe);
    EXPECT_EQ(p.outcomes.severe, p.outcomes.event);
    const double age = p.CompleteValue("age");
    if (age < 50) {
      young_ca += p.imaging.calcium_volume_mm3;
      ++young;
    } else if (age > 75) {
      old_ca += p.imaging.calcium_volume_mm3;
      ++old;
    }
  }
  EXPECT_GT(old_ca / old, 5 * young_ca / young);
}

TEST(CohortGeneratorTest, ReportExtentFollowsImagingExtent) {
  const SyntheticSite kb = Kb();
  double low = 0, high = 0;
  int nl = 0, nh = 0;
  for (const auto& p : kb.patients) {
    const double e = p.CompleteValue("disease_extent");
    if (e <= 1) {
      low += p.imaging.ExtentFraction();
      ++nl;
    } else if (e >= 4) {
      high += p.imaging.ExtentFraction();
      ++nh;
    }
  }
  ASSERT_GT(nl, 10);
  ASSERT_GT(nh, 10);
  EXPECT_LT(low / nl, 0.12);
  EXPECT_GT(high / nh, 0.4);
}

TEST(CohortGeneratorTest, GroundTruthClassesCoverEveryVariable) {
  EXPECT_EQ(VariablesWith(Association::kSignificant).size(), 14u);
  EXPECT_EQ(VariablesWith(Association::kWeak), std::vector<std::string>{"platelets"});
  EXPECT_GE(VariablesWith(Association::kNull).size(), 15u);
  EXPECT_EQ(SeverityAssociation("cancer"), Association::kNull);
  EXPECT_EQ(SeverityAssociation("diabetes"), Association::kIndirect);
  for (const ModelTerm& t : SeverityModel().terms) EXPECT_GE(AdmissionIndex(t.variable), 0);
}

}  // namespace
}  // namespace scancov::sites
