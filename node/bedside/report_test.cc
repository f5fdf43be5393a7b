// The outputs: no identifier anywhere, decodable PNGs in the HTML, a JSON that machines can read,
// and the DICOM SEG of the maps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "models/ct/dicom_seg.h"
#include "models/ct/png.h"
#include "node/bedside/bedside_report.h"
#include "node/bedside/bedside_test_util.h"
#include "node/bedside/score_patient.h"

namespace scancov::node {
namespace {

using testing::DefaultRequest;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::SharedPhantom;

const BedsideResult& Result() {
  static const BedsideResult* result = [] {
    absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(SharedPhantom().dicom_dir));
    EXPECT_TRUE(r.ok()) << r.status();
    return new BedsideResult(r.ok() ? *std::move(r) : BedsideResult{});
  }();
  return *result;
}

// Everything that identifies the patient or the exam in the phantom's DICOM files.
std::vector<std::string> Identifiers() {
  const sites::PhantomFiles& files = SharedPhantom();
  std::vector<std::string> ids = {testing::kFakePatientId,
                                  testing::kFakePatientName,
                                  "DUPONT",
                                  "JEANNE",
                                  testing::kFakeBirthDate,
                                  "1957-03-12",
                                  files.dicom_dir};
  for (const auto& s : files.dicom.series) ids.push_back(s.series_uid);
  ids.push_back(files.dicom.study_uid);
  return ids;
}

void ExpectNoIdentifier(const std::string& output, const std::string& what) {
  for (const std::string& id : Identifiers()) {
    ASSERT_FALSE(id.empty());
    EXPECT_THAT(output, Not(HasSubstr(id))) << what << " contains an identifier";
  }
}

TEST(BedsideReport, NoIdentifierInAnyOutput) {
  const BedsideResult& r = Result();
  ASSERT_EQ(r.patient_key.size(), 32u);
  const std::string text = BedsideSummaryText(r);
  const std::string json = BedsideResultJson(r);
  const std::string html = BedsideReportHtml(r);
  ExpectNoIdentifier(text, "terminal text");
  ExpectNoIdentifier(json, "JSON");
  ExpectNoIdentifier(html, "HTML");
  // The pseudonymous ID is what names the patient.
  EXPECT_THAT(text, HasSubstr("patient (pseudonymous ID): " + r.patient_key));
  EXPECT_THAT(json, HasSubstr(r.patient_key));
  EXPECT_THAT(html, HasSubstr(r.patient_key));
}

TEST(BedsideReport, HtmlEmbedsDecodablePngs) {
  const BedsideResult& r = Result();
  const std::string html = BedsideReportHtml(r);
  const std::regex png("data:image/png;base64,([A-Za-z0-9+/=]+)");
  int images = 0, overlays = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), png); it != std::sregex_iterator();
       ++it) {
    std::string bytes;
    ASSERT_TRUE(absl::Base64Unescape((*it)[1].str(), &bytes));
    absl::StatusOr<ct::RgbImage> image = ct::DecodePng(bytes);
    ASSERT_TRUE(image.ok()) << image.status();
    ++images;
    if (image->width == r.nx && image->height == r.ny) ++overlays;
  }
  EXPECT_EQ(images, 4);  // three overlays and the chart
  EXPECT_EQ(overlays, 3);
}

TEST(BedsideReport, HtmlShowsScoresScaleTableAndDisclaimer) {
  const BedsideResult& r = Result();
  const std::string html = BedsideReportHtml(r);
  EXPECT_THAT(html, HasSubstr(kResearchDisclaimer));
  EXPECT_THAT(html, HasSubstr("ScanCov"));
  EXPECT_THAT(html,
              HasSubstr(absl::StrFormat("probability <b>%.3f</b>", r.scancov.value.probability)));
  EXPECT_THAT(html,
              HasSubstr(scores::RiskClassName(r.scancov.value.risk_class) + std::string(" risk")));
  EXPECT_THAT(html, HasSubstr("<td class=\"on\""));  // the patient's level on the 1-5 scale
  for (const char* level : {"1 very low", "2 low", "3 medium", "4 high", "5 very high"}) {
    EXPECT_THAT(html, HasSubstr(level));
  }
  EXPECT_THAT(html, HasSubstr("AI-SCoRE"));
  EXPECT_THAT(html, HasSubstr("not available (no fitted model)"));
  EXPECT_THAT(html, HasSubstr("<td>right</td>"));
  EXPECT_THAT(html, HasSubstr("<td>left</td>"));
  EXPECT_THAT(html, Not(HasSubstr("INCOMPLETE")));
}

TEST(BedsideReport, JsonCarriesTheResult) {
  const BedsideResult& r = Result();
  const nlohmann::json j = nlohmann::json::parse(BedsideResultJson(r));
  EXPECT_EQ(j["format"], "scancov-bedside-v1");
  EXPECT_EQ(j["complete"], true);
  EXPECT_EQ(j["patient_key"], r.patient_key);
  EXPECT_DOUBLE_EQ(j["lungs"]["right"]["extent_percent"].get<double>(),
                   r.lesions.right.extent_percent);
  EXPECT_EQ(j["disease_extent"], r.disease_extent);
  EXPECT_DOUBLE_EQ(j["scores"]["scancov"]["probability"].get<double>(),
                   r.scancov.value.probability);
  EXPECT_EQ(j["scores"]["scancov"]["level"], r.scancov.value.level);
  EXPECT_EQ(j["scores"]["aiscore"]["available"], false);
  EXPECT_EQ(j["inputs"]["spo2"], 91);
  EXPECT_EQ(j["inputs"]["disease_extent"], r.disease_extent);
  EXPECT_TRUE(j["timings_s"].contains("lung mask"));
}

TEST(BedsideReport, ErrorJson) {
  const nlohmann::json j =
      nlohmann::json::parse(BedsideErrorJson(absl::FailedPreconditionError("bedside: x: why")));
  EXPECT_EQ(j["complete"], false);
  EXPECT_EQ(j["error"], "bedside: x: why");
}

TEST(BedsideReport, DicomSegOfTheMaps) {
  const BedsideResult& r = Result();
  const std::string path = testing::FreshDir("seg") + "/lesions.dcm";
  ASSERT_TRUE(WriteBedsideSeg(path, r).ok());
  absl::StatusOr<ct::SegSource> source = ct::ReadSegSource(r.source_files);
  ASSERT_TRUE(source.ok()) << source.status();
  absl::StatusOr<ct::LoadedSeg> seg = ct::ReadDicomSeg(path, *source);
  ASSERT_TRUE(seg.ok()) << seg.status();
  ASSERT_EQ(seg->segments.size(), 5u);  // two lungs, GGO, crazy paving, consolidation
  int64_t ggo = 0;
  for (uint8_t v : seg->segments[2].mask.voxels) ggo += v;
  EXPECT_EQ(ggo, r.lesions.both.ggo_voxels);
}

}  // namespace
}  // namespace scancov::node
