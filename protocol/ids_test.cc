#include "protocol/ids.h"

#include "gtest/gtest.h"

namespace scancov::protocol {
namespace {

TEST(IdsTest, SiteAndStudyIds) {
  for (const char* good : {"kb", "demo-ai-severity", "a_1", "0x"}) EXPECT_TRUE(IsValidId(good));
  for (const char* bad : {"", "-x", "_x", "Kb", "a b", "a/b", "a:b", "é"}) {
    EXPECT_FALSE(IsValidId(bad)) << bad;
  }
  EXPECT_TRUE(IsValidId(std::string(63, 'a')));
  EXPECT_FALSE(IsValidId(std::string(64, 'a')));
}

TEST(IdsTest, AiSeverityVariables) {
  EXPECT_TRUE(IsAiSeverityVariable("ai_severity:demo-ai-severity"));
  EXPECT_EQ(AiSeverityStudyOf("ai_severity:demo-ai-severity"), "demo-ai-severity");
  for (const char* bad : {"ai_severity", "ai_severity:", "ai_severity:Upper", "ai_severity:-x",
                          "ai_severity:a b", "age", "ai_severity:x;drop", "AI_SEVERITY:x"}) {
    EXPECT_FALSE(IsAiSeverityVariable(bad)) << bad;
    EXPECT_EQ(AiSeverityStudyOf(bad), "") << bad;
  }
}

}  // namespace
}  // namespace scancov::protocol
