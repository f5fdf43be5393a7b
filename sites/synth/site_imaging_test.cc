#include "sites/synth/site_imaging.h"

#include "gtest/gtest.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::sites {
namespace {

TEST(SiteImagingTest, ScannersDifferBySite) {
  const ScannerSpec kb = SiteScanner("kb", CtScale::kFull);
  const ScannerSpec igr = SiteScanner("igr", CtScale::kFull);
  EXPECT_NE(kb.slice_thickness_mm, igr.slice_thickness_mm);
  EXPECT_NE(kb.manufacturer, igr.manufacturer);
  EXPECT_NEAR(kb.number_of_slices * kb.slice_thickness_mm, 300, 2);
  const ScannerSpec other = SiteScanner("hegp", CtScale::kFull);
  EXPECT_GE(other.slice_thickness_mm, 1.0);
  EXPECT_LE(other.slice_thickness_mm, 5.0);
  EXPECT_TRUE(ValidatePhantomSpec(PhantomSpec{1, {}, {}, {}, {}, other}).ok());
}

TEST(SiteImagingTest, PhantomFollowsThePatient) {
  auto profile = NamedSiteProfile("kb");
  ASSERT_TRUE(profile.ok());
  profile->patients = 60;
  const SyntheticSite site = GenerateSite(*profile, 3);
  const SyntheticPatient* sick = nullptr;
  for (const SyntheticPatient& p : site.patients) {
    if (!sick || p.imaging.ExtentFraction() > sick->imaging.ExtentFraction()) sick = &p;
  }
  const PhantomSpec spec = PhantomSpecFor(*sick, SiteScanner("kb", CtScale::kSmall), 3);
  EXPECT_EQ(spec.patient.patient_id, sick->patient_id);  // joins the admission row
  EXPECT_EQ(spec.disease.extent_right, sick->imaging.extent_fraction_right);
  EXPECT_NEAR(spec.calcium.coronary_mm3 + spec.calcium.aortic_valve_mm3 + spec.calcium.aorta_mm3,
              sick->imaging.calcium_volume_mm3, 1e-9);
  EXPECT_EQ(spec.patient.sex, sick->Value("sex") >= 0.5 ? 'M' : 'F');
  auto volume = GeneratePhantomVolume(spec);
  ASSERT_TRUE(volume.ok()) << volume.status();
  // The phantom's lesion burden follows the patient's disease extent.
  EXPECT_NEAR(volume->truth.right.extent(), sick->imaging.extent_fraction_right, 0.03);
  EXPECT_NEAR(volume->truth.left.extent(), sick->imaging.extent_fraction_left, 0.03);
  // Every patient of the site fits the scanner's field of view (widened if needed).
  for (const SyntheticPatient& p : site.patients) {
    EXPECT_TRUE(ValidatePhantomSpec(PhantomSpecFor(p, SiteScanner("igr", CtScale::kFull), 3)).ok());
  }
  // Same inputs, same phantom.
  EXPECT_EQ(PhantomSpecFor(*sick, SiteScanner("kb", CtScale::kSmall), 3).seed, spec.seed);
}

}  // namespace
}  // namespace scancov::sites
