#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/env.h"
#include "core/file_util.h"
#include "core/number_format.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "core/volume.h"
#include "core/xml_escape.h"
#include "gtest/gtest.h"

namespace scancov {
namespace {

// Reference digests from FIPS 180-2 Appendix B.1 and RFC 4231 test case 2.
TEST(XmlEscapeTest, EscapesMarkupCharactersAndKeepsTheRest) {
  EXPECT_EQ(XmlEscape(R"(a<b & "c">d é)"), "a&lt;b &amp; &quot;c&quot;&gt;d é");
  EXPECT_EQ(XmlEscape("&amp;"), "&amp;amp;");  // not idempotent: escape once
  EXPECT_EQ(XmlEscape(""), "");
}

TEST(Sha256Test, MatchesFipsVector) {
  EXPECT_EQ(ToHex(Sha256Digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.Finish(), Sha256Digest("abc"));
}

TEST(Sha256Test, HmacMatchesRfc4231Case2) {
  EXPECT_EQ(ToHex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(FakeClockTest, SleepAdvancesWithoutBlocking) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  clock.SleepFor(absl::Hours(3));
  EXPECT_EQ(clock.Now() - start, absl::Hours(3));
  EXPECT_EQ(clock.TotalSlept(), absl::Hours(3));
}

absl::StatusOr<int> Half(int x) {
  if (x % 2) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::Status UseMacros(int x, int* out) {
  SCV_ASSIGN_OR_RETURN(int h, Half(x));
  SCV_RETURN_IF_ERROR(h > 100 ? absl::OutOfRangeError("big") : absl::OkStatus());
  *out = h;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateErrorsAndValues) {
  int out = 0;
  EXPECT_TRUE(UseMacros(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseMacros(3, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UseMacros(400, &out).code(), absl::StatusCode::kOutOfRange);
}

// A coronal-like placement: rows run along -z, columns along +x, slices along +y (the cross
// product of the two), so each index moves a different patient axis.
TEST(VolumeTest, PointAtFollowsOriginSpacingAndDirections) {
  Volume<int16_t> v(4, 3, 2, {0.5, 2.0, 3.0});
  EXPECT_EQ(v.PointAt(1, 1, 1), (std::array<double, 3>{0.5, 2.0, 3.0}));  // default placement
  v.origin = {10, 20, 30};
  v.direction = {0, 0, -1, 1, 0, 0, 0, 1, 0};
  const std::array<double, 3> p = v.PointAt(1, 2, 3);  // i = 3 along -z, j = 2 along +x
  EXPECT_DOUBLE_EQ(p[0], 10 + 2 * 2.0);
  EXPECT_DOUBLE_EQ(p[1], 20 + 1 * 3.0);
  EXPECT_DOUBLE_EQ(p[2], 30 - 3 * 0.5);
  Volume<uint8_t> labels(4, 3, 2, {0.5, 2.0, 3.0});
  EXPECT_TRUE(labels.SameGrid(v));  // the placement is not part of the grid
  labels.PlaceLike(v);
  EXPECT_EQ(labels.PointAt(1, 2, 3), p);
}

TEST(FileUtilTest, AtomicWriteThenRead) {
  const std::string dir = ::testing::TempDir() + "/core_file_util";
  ASSERT_TRUE(MakeDirs(dir).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/x.bin", std::string("a\0b", 3)).ok());
  auto read = ReadFileToString(dir + "/x.bin");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, std::string("a\0b", 3));
  auto missing = ReadFileToString(dir + "/nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
}

// Values and expected strings worked out by hand (4 significant digits unless said).
TEST(HumanNumberTest, CountsAsCountsEstimatesWithoutTrailingZeros) {
  EXPECT_EQ(HumanNumber(287.0), "287");
  EXPECT_EQ(HumanNumber(-3.0), "-3");
  EXPECT_EQ(HumanNumber(0.0), "0");
  EXPECT_EQ(HumanNumber(-0.0), "0");
  EXPECT_EQ(HumanNumber(1234567.0), "1234567");
  EXPECT_EQ(HumanNumber(0.81774), "0.8177");
  EXPECT_EQ(HumanNumber(0.5), "0.5");
  EXPECT_EQ(HumanNumber(1.00001), "1");
  EXPECT_EQ(HumanNumber(9.99996), "10");
  EXPECT_EQ(HumanNumber(0.012346), "0.01235");
  EXPECT_EQ(HumanNumber(12.3456), "12.35");
  EXPECT_EQ(HumanNumber(623.718706), "623.7");
  EXPECT_EQ(HumanNumber(12345.6), "12346");
  EXPECT_EQ(HumanNumber(-0.25), "-0.25");
  EXPECT_EQ(HumanNumber(0.123456, 2), "0.12");
  EXPECT_EQ(HumanNumber(1.2e-5), "1.2e-05");
  EXPECT_EQ(HumanNumber(-0.000001234), "-1.234e-06");
  EXPECT_EQ(HumanNumber(2e15), "2e+15");
  EXPECT_EQ(HumanNumber(std::nan("")), "n/a");
  EXPECT_EQ(HumanNumber(INFINITY), "inf");
  EXPECT_EQ(HumanNumber(-INFINITY), "-inf");
}

TEST(ExactNumberTest, ReadsBackAsTheSameDouble) {
  EXPECT_EQ(ExactNumber(0.81774321), "0.81774321");
  EXPECT_EQ(ExactNumber(0.1), "0.1");
  EXPECT_EQ(ExactNumber(287), "287");
  EXPECT_EQ(ExactNumber(std::nan("")), "nan");
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 10000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double v;
    std::memcpy(&v, &x, sizeof v);
    if (!std::isfinite(v)) continue;
    EXPECT_EQ(std::strtod(ExactNumber(v).c_str(), nullptr), v) << ExactNumber(v);
  }
}

}  // namespace
}  // namespace scancov
