#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/file_util.h"
#include "gtest/gtest.h"
#include "models/ct/lesion_quantification.h"
#include "models/ct/overlay.h"
#include "models/ct/png.h"

namespace scancov::ct {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp/") + name;
}

RgbImage Gradient(int w, int h) {
  RgbImage img(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = img.at(x, y);
      p[0] = static_cast<uint8_t>(x * 7);
      p[1] = static_cast<uint8_t>(y * 13);
      p[2] = static_cast<uint8_t>((x * y) ^ 0x5a);
    }
  return img;
}

TEST(Png, RoundTripAndStructure) {
  const RgbImage img = Gradient(37, 23);
  absl::StatusOr<std::string> png = EncodePng(img);
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_GT(png->size(), 8u + 25 + 12);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png->substr(12, 4), "IHDR");
  EXPECT_EQ(png->substr(png->size() - 8, 4), "IEND");
  // IDAT inflates to height rows of (1 filter byte + 3 * width).
  const uint32_t idat_len =
      (static_cast<uint8_t>((*png)[33]) << 24) | (static_cast<uint8_t>((*png)[34]) << 16) |
      (static_cast<uint8_t>((*png)[35]) << 8) | static_cast<uint8_t>((*png)[36]);
  EXPECT_EQ(png->substr(37, 4), "IDAT");
  std::string raw(23 * (1 + 37 * 3), '\0');
  uLongf raw_len = raw.size();
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len,
                       reinterpret_cast<const Bytef*>(png->data() + 41), idat_len),
            Z_OK);
  EXPECT_EQ(raw_len, raw.size());
  absl::StatusOr<RgbImage> back = DecodePng(*png);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->width, 37);
  EXPECT_EQ(back->height, 23);
  EXPECT_EQ(back->rgb, img.rgb);
}

TEST(Png, DamageIsDetected) {
  absl::StatusOr<std::string> png = EncodePng(Gradient(8, 8));
  ASSERT_TRUE(png.ok());
  std::string bad = *png;
  bad[45] ^= 0x40;  // inside IDAT: the CRC no longer matches
  EXPECT_FALSE(DecodePng(bad).ok());
  EXPECT_FALSE(DecodePng(png->substr(0, png->size() - 20)).ok());
  EXPECT_FALSE(DecodePng("GIF89a").ok());
  EXPECT_FALSE(EncodePng(RgbImage{}).ok());
}

TEST(Png, FileIsRecognisedByFile) {
  const std::string path = TempPath("gradient.png");
  ASSERT_TRUE(WritePng(path, Gradient(64, 32)).ok());
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(DecodePng(*bytes).ok());
  if (std::system("command -v file > /dev/null 2>&1") != 0) GTEST_SKIP() << "no file(1)";
  FILE* f = popen(("file -b " + path).c_str(), "r");
  ASSERT_NE(f, nullptr);
  char out[256] = {0};
  ASSERT_NE(fgets(out, sizeof(out), f), nullptr);
  pclose(f);
  EXPECT_NE(std::string(out).find("PNG image data, 64 x 32, 8-bit/color RGB"), std::string::npos)
      << out;
}

TEST(Overlay, ColoursContoursAndWindow) {
  HuVolume hu(6, 6, 2, {1, 1, 1}, -1300);  // black in the lung window
  LabelVolume lungs(6, 6, 2, {1, 1, 1});
  LabelVolume lesions(6, 6, 2, {1, 1, 1});
  for (int j = 1; j < 5; ++j)
    for (int i = 1; i < 5; ++i) {
      lungs.at(1, j, i) = i < 3 ? 1 : 2;
      lesions.at(1, j, i) = kLesionHealthy;
    }
  lesions.at(1, 2, 2) = kLesionConsolidation;
  hu.at(1, 0, 0) = 200;   // white
  hu.at(1, 0, 1) = -550;  // mid grey
  OverlayOptions o;
  o.contours = false;
  absl::StatusOr<RgbImage> img = RenderOverlay(hu, &lungs, &lesions, 1, o);
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->at(0, 0)[0], 255);
  EXPECT_EQ(img->at(1, 0)[1], 128);
  // Consolidation blended at 0.45 over black: 0.45 * (220, 20, 20).
  EXPECT_EQ(img->at(2, 2)[0], 99);
  EXPECT_EQ(img->at(2, 2)[1], 9);
  o.contours = true;
  img = RenderOverlay(hu, &lungs, &lesions, 1, o);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->at(1, 1)[1], 200);  // right lung contour, green
  EXPECT_EQ(img->at(4, 1)[2], 255);  // left lung contour, blue
  EXPECT_FALSE(RenderOverlay(hu, &lungs, &lesions, 2, o).ok());
  EXPECT_EQ(MostAffectedSlice(lesions), 1);
}

TEST(Overlay, SummaryChartAndText) {
  LesionQuantification q;
  q.right.lung_voxels = 100;
  q.right.volume_ml = 1234.5;
  q.right.ggo_percent = 20;
  q.right.consolidation_percent = 10;
  q.right.extent_percent = 30;
  q.right.extent_score = 3;
  q.left.lung_voxels = 100;
  q.both = q.right;
  const RgbImage chart = RenderSummaryChart(q);
  // The right bar: consolidation at the bottom (20 px of 200), then GGO.
  EXPECT_EQ(chart.at(40, 215)[0], 220);
  EXPECT_EQ(chart.at(40, 195)[1], 220);
  EXPECT_EQ(chart.at(40, 60)[0], 170);  // healthy grey above
  const std::string text = SummaryText(q, nullptr, nullptr);
  EXPECT_NE(text.find("right     1234.5"), std::string::npos) << text;
  EXPECT_NE(text.find("  30.00     3"), std::string::npos) << text;
  const double calcium = 12.5;
  EXPECT_NE(SummaryText(q, nullptr, &calcium).find("12.5 mm^3"), std::string::npos);
}

}  // namespace
}  // namespace scancov::ct
