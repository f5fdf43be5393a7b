#include "sites/cohort/cohort_io.h"

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace scancov::sites {
namespace {

SyntheticSite Small() {
  SiteProfile p = *NamedSiteProfile("igr");
  p.patients = 20;
  return GenerateSite(p, 3);
}

TEST(CohortIoTest, FormatNumberIsShortAndExact) {
  EXPECT_EQ(FormatNumber(96), "96");
  EXPECT_EQ(FormatNumber(0.1), "0.1");
  EXPECT_EQ(FormatNumber(std::nan("")), "");
  const double third = 1.0 / 3.0;
  EXPECT_EQ(std::stod(FormatNumber(third)), third);
}

TEST(CohortIoTest, CsvHasHeaderRowsAndFakeIdentifiers) {
  const SyntheticSite site = Small();
  const std::string csv = AdmissionCsv(site);
  const std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 21u);
  EXPECT_TRUE(absl::StartsWith(lines[0], "patient_id,name,birth_date,age,sex,"));
  EXPECT_TRUE(absl::StrContains(lines[0], ",severe,death,icu,time_to_event_days,event"));
  EXPECT_TRUE(absl::StartsWith(lines[1], "IGR-000001,\""));
  const std::string suffixed = AdmissionCsv(site, {.unit_suffixed_headers = true});
  EXPECT_TRUE(absl::StrContains(suffixed, ",urea_mmol_L,"));
  EXPECT_TRUE(absl::StrContains(suffixed, ",platelets_G_L,"));
  const std::string anonymous = AdmissionCsv(site, {.include_identifiers = false});
  EXPECT_FALSE(absl::StrContains(anonymous, site.patients[0].name));
}

TEST(CohortIoTest, GroundTruthJsonCarriesModelsAndPatients) {
  const SyntheticSite site = Small();
  const nlohmann::json j = nlohmann::json::parse(GroundTruthJson(site));
  EXPECT_EQ(j["site"]["name"], "igr");
  EXPECT_EQ(j["seed"], 3);
  EXPECT_EQ(j["models"].size(), 3u);
  EXPECT_EQ(j["models"][0]["outcome"], "severe");
  EXPECT_EQ(j["severity_association"]["spo2"], "significant");
  EXPECT_EQ(j["severity_association"]["cough"], "null");
  ASSERT_EQ(j["patients"].size(), 20u);
  EXPECT_EQ(j["patients"][0]["patient_id"], "IGR-000001");
  EXPECT_TRUE(j["patients"][0]["imaging"].contains("calcium_volume_mm3"));
}

}  // namespace
}  // namespace scancov::sites
