// Study spec files: the plain form ("spec" and "privacy" as objects) and the older one (JSON
// inside strings). Every spec the demo and the docs show is read and dry-run in
// tests/create_study_dry_run_test.cc.
#include "aggregator/coordinator/study_spec_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;

TEST(StudySpecFromJsonTest, ReadsSpecAndPrivacyAsPlainObjects) {
  auto spec = StudySpecFromJson(R"({
    "name": "t1", "kind": "STUDY_KIND_ANALYSIS", "sites": ["kb", "igr"], "roundTimeoutS": 120,
    "spec": {"analysis": "logistic_regression", "outcome": "severe",
             "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "age"]},
    "privacy": {"secure_aggregation": {"threshold": 2}}})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name(), "t1");
  EXPECT_EQ(spec->sites_size(), 2);
  EXPECT_EQ(spec->round_timeout_s(), 120);
  // Serialized in the order written.
  EXPECT_EQ(spec->spec_json(),
            R"({"analysis":"logistic_regression","outcome":"severe",)"
            R"("features":[{"name":"spo2","transform":"neglog_101_minus"},"age"]})");
  EXPECT_EQ(spec->privacy_json(), R"({"secure_aggregation":{"threshold":2}})");
}

TEST(StudySpecFromJsonTest, StillReadsTheOlderStringForm) {
  auto spec = StudySpecFromJson(R"({"name": "t1", "kind": "STUDY_KIND_ANALYSIS",
      "specJson": "{\"analysis\": \"cohort_description\", \"outcome\": \"severe\"}",
      "privacy_json": "{\"secure_aggregation\": {\"threshold\": 2}}"})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  // Kept as written, byte for byte.
  EXPECT_EQ(spec->spec_json(), R"({"analysis": "cohort_description", "outcome": "severe"})");
  EXPECT_EQ(spec->privacy_json(), R"({"secure_aggregation": {"threshold": 2}})");
  auto empty = StudySpecFromJson(R"({"name": "t1", "spec_json": ""})");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->spec_json(), "");
}

TEST(StudySpecFromJsonTest, AnOlderFieldMayHoldAnObject) {
  auto spec = StudySpecFromJson(R"({"name": "t1", "specJson": {"analysis": "x"},
                                    "privacyJson": {"dp": {"mode": "site"}}})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->spec_json(), R"({"analysis":"x"})");
  EXPECT_EQ(spec->privacy_json(), R"({"dp":{"mode":"site"}})");
}

TEST(StudySpecFromJsonTest, AFieldGivenTwiceIsRefusedNamingBoth) {
  const absl::Status s =
      StudySpecFromJson(R"({"name": "t1", "spec": {"analysis": "x"}, "specJson": "{}"})").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(R"("spec" and "specJson")"));
  const absl::Status p =
      StudySpecFromJson(R"({"privacy": {}, "privacy_json": "{}", "privacyJson": "{}"})").status();
  EXPECT_THAT(p.message(), HasSubstr(R"("privacy" and "privacyJson" and "privacy_json")"));
}

TEST(StudySpecFromJsonTest, ErrorsNameTheFieldAndTheByte) {
  // JSON inside the string that is not JSON: the field, and where in its text parsing stopped.
  const absl::Status inner =
      StudySpecFromJson(R"({"name": "t1", "specJson": "{\"analysis\": oops}"})").status();
  EXPECT_EQ(inner.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(inner.message(),
              HasSubstr(R"(study spec: "specJson": not JSON: parse error at byte 14)"));
  // A file that is not JSON: where it stopped.
  const absl::Status outer = StudySpecFromJson("{\"name\": \"t1\",\n \"spec\": {]}").status();
  EXPECT_THAT(outer.message(), HasSubstr("study spec: not JSON: parse error at byte 26"));
  EXPECT_THAT(outer.message(), HasSubstr("line 2, column 11")) << outer;
  // A value of the wrong type.
  EXPECT_THAT(StudySpecFromJson(R"({"privacy": [1]})").status().message(),
              HasSubstr(R"("privacy" must be a JSON object)"));
  EXPECT_THAT(StudySpecFromJson(R"({"spec_json": "[1]"})").status().message(),
              HasSubstr(R"("spec_json" must hold a JSON object)"));
  // Fields the StudySpec does not have are still refused, by name.
  EXPECT_THAT(StudySpecFromJson(R"({"name": "t1", "colour": "blue"})").status().message(),
              HasSubstr("colour"));
  EXPECT_FALSE(StudySpecFromJson("[]").ok());
}

}  // namespace
}  // namespace scancov::aggregator
