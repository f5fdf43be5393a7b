// scancov-score's text inputs and its output files.
#include "node/bedside/score_command.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/file_util.h"
#include "node/bedside/bedside_report.h"
#include "node/bedside/bedside_test_util.h"

namespace scancov::node {
namespace {

TEST(ScoreCommand, SexAcceptsLettersWordsAndDigits) {
  for (const char* male : {"M", "m", "Male", "1"}) EXPECT_EQ(*ParseSex(male), 1.0) << male;
  for (const char* female : {"F", "female", "0"}) EXPECT_EQ(*ParseSex(female), 0.0) << female;
  for (const char* bad : {"", "x", "2", "mf"}) {
    EXPECT_EQ(ParseSex(bad).status().message(), "--sex: expected M or F") << bad;
  }
}

TEST(ScoreCommand, ExtraInputsAreNameEqualsNumber) {
  scores::PatientInputs inputs;
  ASSERT_TRUE(AddExtraInputs({"ldh=320", "crp=8e1"}, inputs).ok());
  EXPECT_EQ(inputs.Get("ldh"), 320.0);
  EXPECT_EQ(inputs.Get("crp"), 80.0);
  const absl::Status bad = AddExtraInputs({"urea=7.1", "ferritin", "age=63"}, inputs);
  EXPECT_EQ(bad.message(), "--input ferritin: expected name=number");
  EXPECT_EQ(inputs.Get("urea"), 7.1);           // before the bad item
  EXPECT_FALSE(inputs.Get("age").has_value());  // after it
  EXPECT_EQ(AddExtraInputs({"a=b=c"}, inputs).message(), "--input a: expected name=number");
}

TEST(ScoreCommand, WritesWhatWasAskedAndReportsWhatFailed) {
  const std::string dir = testing::FreshDir("score_outputs");
  BedsideResult result;
  result.patient_key = "0123456789abcdef";
  std::ostringstream err;
  EXPECT_TRUE(WriteBedsideOutputs(result, {"", dir + "/r.json", ""}, err));
  EXPECT_EQ(err.str(), "");
  absl::StatusOr<std::string> json = ReadFileToString(dir + "/r.json");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, BedsideResultJson(result));
  // The report cannot be written (its folder is missing); the JSON still is.
  EXPECT_FALSE(WriteBedsideOutputs(result, {dir + "/absent/r.html", dir + "/r2.json", ""}, err));
  EXPECT_NE(err.str().find("error: " + dir + "/absent/r.html: "), std::string::npos) << err.str();
  EXPECT_TRUE(ReadFileToString(dir + "/r2.json").ok());
}

}  // namespace
}  // namespace scancov::node
