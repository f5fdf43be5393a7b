#include "node/clinical/csv_parser.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace scancov::node {
namespace {

using Fields = std::vector<std::string>;

TEST(CsvParserTest, QuotesCrlfBomAndBlankLines) {
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv(
      "\xEF\xBB\xBF"
      "a,b,c\r\n\r\n1,\"x, \"\"y\"\"\",\r\n\"multi\nline\",2,3\n4,5,6");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ((*r)[0].line, 1);
  EXPECT_EQ((*r)[1].fields, (Fields{"1", "x, \"y\"", ""}));
  EXPECT_EQ((*r)[1].line, 3);
  EXPECT_EQ((*r)[2].fields, (Fields{"multi\nline", "2", "3"}));
  EXPECT_EQ((*r)[2].line, 4);
  EXPECT_EQ((*r)[3].fields, (Fields{"4", "5", "6"}));
  EXPECT_EQ((*r)[3].line, 6);
}

TEST(CsvParserTest, EmptyFieldsAndTrailingComma) {
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv("a,,\n\"\",b,\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].fields, (Fields{"a", "", ""}));
  EXPECT_EQ((*r)[1].fields, (Fields{"", "b", ""}));
}

TEST(CsvParserTest, OtherSeparators) {
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv("a;b,c;\"d;e\"\r\n1;2,5;x\n", ';');
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].fields, (Fields{"a", "b,c", "d;e"}));
  EXPECT_EQ((*r)[1].fields, (Fields{"1", "2,5", "x"}));
  r = ParseCsv("a\tb c\t\n1\t\t3\n", '\t');
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].fields, (Fields{"a", "b c", ""}));
  EXPECT_EQ((*r)[1].fields, (Fields{"1", "", "3"}));
}

TEST(CsvParserTest, HeadStopsAfterMaxRecords) {
  // The third record's quote is never closed: only a full parse sees it.
  const char text[] = "a,b\n1,2\n\"3,4\n";
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsvHead(text, ',', 2);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].fields, (Fields{"1", "2"}));
  EXPECT_FALSE(ParseCsv(text).ok());
  EXPECT_TRUE(ParseCsvHead(text, ',', 0)->empty());
}

TEST(CsvParserTest, ErrorsNameTheLineNotTheContent) {
  absl::StatusOr<std::vector<CsvRecord>> r = ParseCsv("a,b\n1,\"secret\n2,3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 2: unterminated quoted field");
  r = ParseCsv("a,b\nx\"secret\",1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 2: quote inside an unquoted field");
  r = ParseCsv("a,b\n\"secret\"x,1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(absl::StrContains(r.status().message(), "secret"));
}

}  // namespace
}  // namespace scancov::node
