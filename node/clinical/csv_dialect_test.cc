#include "node/clinical/csv_dialect.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace scancov::node {
namespace {

using Fields = std::vector<std::string>;

TEST(CsvDialectTest, Utf8Validation) {
  EXPECT_EQ(FirstInvalidUtf8("plain ASCII"), absl::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("Z\xC3\xBCrich \xE2\x82\xAC \xF0\x9F\x98\x80"),
            absl::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("Z\xFCrich"), 1u);         // Latin-1 u-umlaut
  EXPECT_EQ(FirstInvalidUtf8("ab\xC3"), 2u);            // truncated sequence
  EXPECT_EQ(FirstInvalidUtf8("a\xC0\xAF"), 1u);         // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("a\xED\xA0\x80"), 1u);     // surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("ok\xE9t\xE9"), 2u);       // Latin-1 e-acute
}

TEST(CsvDialectTest, Latin1AndWindows1252ToUtf8) {
  EXPECT_EQ(ToUtf8("Besan\xE7on, Z\xFCrich \xB5mol", CsvEncoding::kLatin1),
            "Besan\xC3\xA7on, Z\xC3\xBCrich \xC2\xB5mol");
  EXPECT_EQ(ToUtf8("\x80 s\x9Cur \x93x\x94", CsvEncoding::kWindows1252),
            "\xE2\x82\xAC s\xC5\x93ur \xE2\x80\x9Cx\xE2\x80\x9D");
  EXPECT_EQ(ToUtf8("\x80", CsvEncoding::kLatin1), "\xC2\x80");       // a C1 control in Latin-1
  EXPECT_EQ(ToUtf8("\x81", CsvEncoding::kWindows1252), "\xC2\x81");  // undefined in 1252
  EXPECT_EQ(ToUtf8("\xC3\xA9", CsvEncoding::kUtf8), "\xC3\xA9");
}

TEST(CsvDialectTest, EncodingNames) {
  EXPECT_EQ(*ParseEncodingName("Latin-1"), CsvEncoding::kLatin1);
  EXPECT_EQ(*ParseEncodingName("ISO-8859-1"), CsvEncoding::kLatin1);
  EXPECT_EQ(*ParseEncodingName("utf8"), CsvEncoding::kUtf8);
  EXPECT_EQ(*ParseEncodingName("CP1252"), CsvEncoding::kWindows1252);
  EXPECT_EQ(*ParseEncodingName("auto"), CsvEncoding::kDetect);
  EXPECT_FALSE(ParseEncodingName("ebcdic").ok());
}

TEST(CsvDialectTest, DetectsSeparatorFromTheHeaderRespectingQuotes) {
  absl::StatusOr<DecodedCsv> r = ReadCsv("f.csv", "id;\"a,b\";c\n1;2,5;3\n", {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->separator, ';');
  EXPECT_EQ(r->records[0].fields, (Fields{"id", "a,b", "c"}));
  EXPECT_EQ(r->records[1].fields, (Fields{"1", "2,5", "3"}));
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_EQ(r->notes[0], "separator ';' (detected from the header)");

  r = ReadCsv("f.csv", "\"x;y\",b,c\n1,2,3\n", {});  // ';' only inside quotes
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->separator, ',');
  EXPECT_TRUE(r->notes.empty());

  r = ReadCsv("f.csv", "id\ta b\tc\r\n1\t2\t3\r\n", {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->separator, '\t');
  EXPECT_EQ(r->records[1].fields, (Fields{"1", "2", "3"}));

  r = ReadCsv("f.csv", "patient_id\nP1\n", {});  // one column: ','
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->separator, ',');
}

TEST(CsvDialectTest, SeveralSplittingSeparatorsAreSettledByTheRecordsOrRefused) {
  // The header splits on ',' and on ';'; the records only on ';' consistently.
  absl::StatusOr<DecodedCsv> r = ReadCsv("f.csv", "id;w, kg;h\n1;70,5;1,80\n2;80;1,7\n", {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->separator, ';');
  // Both are consistent: refuse, and ask for a declaration.
  r = ReadCsv("f.csv", "id;w, kg\n1;70,5\n", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "f.csv:1: cannot tell the separator: the header splits on ',' (2 fields) and on ';' "
            "(2 fields), and the next 20 records do not settle it; declare \"separator\" in the "
            "column mapping's \"csv\" object");
  CsvDialect declared;
  declared.separator = ';';
  r = ReadCsv("f.csv", "id;w, kg\n1;70,5\n", declared);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records[1].fields, (Fields{"1", "70,5"}));
  EXPECT_TRUE(r->notes.empty());
}

TEST(CsvDialectTest, DeclaredSeparatorThatLeavesTheHeaderOneFieldIsRefused) {
  CsvDialect declared;
  declared.separator = ',';
  absl::StatusOr<DecodedCsv> r = ReadCsv("f.csv", "\n\nid;age;temp\nP1;70;38,2\n", declared);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "f.csv:3: the header is one field with the declared separator ',' but 3 with ';'; "
            "check \"separator\" in the column mapping's \"csv\" object");
}

TEST(CsvDialectTest, DetectsLatin1AndWindows1252) {
  absl::StatusOr<DecodedCsv> r = ReadCsv("f.csv", "id;ville\nP1;Besan\xE7on\nP2;Z\xFCrich\n", {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->encoding, CsvEncoding::kLatin1);
  EXPECT_EQ(r->records[1].fields[1], "Besan\xC3\xA7on");
  EXPECT_EQ(r->records[2].fields[1], "Z\xC3\xBCrich");
  ASSERT_EQ(r->notes.size(), 2u);
  EXPECT_EQ(r->notes[1],
            "read as Latin-1 (ISO-8859-1), converted to UTF-8: the file is not valid UTF-8 (first "
            "at line 2); if that is wrong, declare \"encoding\" in the column mapping's \"csv\" "
            "object");
  EXPECT_FALSE(absl::StrContains(r->notes[1], "Besan"));

  r = ReadCsv("f.csv", "id,note\nP1,s\x9Cur \x80\n", {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->encoding, CsvEncoding::kWindows1252);
  EXPECT_EQ(r->records[1].fields[1], "s\xC5\x93ur \xE2\x82\xAC");

  // Valid UTF-8, with or without a byte-order mark, stays as it is.
  for (const char* text :
       {"id,ville\nP1,Z\xC3\xBCrich\n", "\xEF\xBB\xBFid,ville\nP1,Z\xC3\xBCrich\n"}) {
    r = ReadCsv("f.csv", text, {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->encoding, CsvEncoding::kUtf8);
    EXPECT_EQ(r->records[0].fields[0], "id");
    EXPECT_EQ(r->records[1].fields[1], "Z\xC3\xBCrich");
    EXPECT_TRUE(r->notes.empty());
  }
}

TEST(CsvDialectTest, DeclaredEncodingIsUsedAsDeclared) {
  CsvDialect declared;
  declared.encoding = CsvEncoding::kLatin1;
  // The bytes C3 BC are u-umlaut in UTF-8 but two letters in Latin-1: the declaration wins.
  absl::StatusOr<DecodedCsv> r = ReadCsv("f.csv", "id,ville\nP1,Z\xC3\xBCrich\n", declared);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->encoding, CsvEncoding::kLatin1);
  EXPECT_EQ(r->records[1].fields[1], "Z\xC3\x83\xC2\xBCrich");
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_EQ(r->notes[0],
            "read as Latin-1 (ISO-8859-1) (declared), converted to UTF-8; note: the file would "
            "also be valid UTF-8");
  declared.encoding = CsvEncoding::kWindows1252;
  r = ReadCsv("f.csv", "id,prix\nP1,\x80\n", declared);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records[1].fields[1], "\xE2\x82\xAC");
}

TEST(CsvDialectTest, InvalidUtf8WhenUtf8IsDeclaredNamesLineColumnAndOffset) {
  CsvDialect declared;
  declared.encoding = CsvEncoding::kUtf8;
  // The bad byte is the third of "Zo\xEB SECRETNAME", line 3, field 2, offset 22.
  const std::string text = "id,nom\nP1,Anne\r\nP2,\"Zo\xEB SECRETNAME\"\n";
  ASSERT_EQ(text.find('\xEB'), 22u);
  absl::StatusOr<DecodedCsv> r = ReadCsv("f.csv", text, declared);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "f.csv:3:2 (nom): not valid UTF-8 (byte offset 22 of the file), but the column "
            "mapping declares \"encoding\": \"utf-8\"; if the file is Latin-1 or Windows-1252, "
            "declare that \"encoding\" in the column mapping's \"csv\" object");
  EXPECT_FALSE(absl::StrContains(r.status().message(), "SECRET"));
  EXPECT_FALSE(absl::StrContains(r.status().message(), "Zo"));
}

TEST(CsvDialectTest, ContradictoryByteOrderMarksAreRefused) {
  absl::StatusOr<DecodedCsv> r = ReadCsv("f.csv", "\xEF\xBB\xBFid;ville\nP1;Z\xFCrich\n", {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(),
                                "f.csv:2:2 (ville): not valid UTF-8 (byte offset 16 of the file), "
                                "but the file starts with a UTF-8 byte-order mark"))
      << r.status();
  CsvDialect declared;
  declared.encoding = CsvEncoding::kLatin1;
  r = ReadCsv("f.csv", "\xEF\xBB\xBFid;ville\nP1;x\n", declared);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "f.csv:1: the file starts with a UTF-8 byte-order mark, but the column mapping "
            "declares \"encoding\" Latin-1 (ISO-8859-1)");
  r = ReadCsv("f.csv", std::string("\xFF\xFEi\0d\0", 6), {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "f.csv:1: UTF-16 text"));
}

TEST(CsvDialectTest, ParseErrorsNameTheFile) {
  absl::StatusOr<DecodedCsv> r = ReadCsv("f.csv", "a;b\n1;\"secret\n", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "f.csv: line 2: unterminated quoted field");
}

}  // namespace
}  // namespace scancov::node
