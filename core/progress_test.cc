#include "core/progress.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace scancov {
namespace {

TEST(ProgressTest, EtaFollowsTheFractionDoneOnTheInjectedClock) {
  FakeClock clock;
  Progress p(&clock);
  p.SetStage("training");
  p.SetCount("epoch", 0, 5);
  EXPECT_EQ(p.Fraction(), 0);
  EXPECT_FALSE(p.Eta().has_value()) << "no estimate before anything is done";
  clock.Advance(absl::Seconds(60));
  p.SetSubCount("batch", 60, 120);  // half of epoch 1 of 5 in a minute: 10% in 60 s
  EXPECT_DOUBLE_EQ(p.Fraction(), 0.1);
  ASSERT_TRUE(p.Eta().has_value());
  EXPECT_NEAR(absl::ToDoubleSeconds(*p.Eta()), 540, 1e-6);
  EXPECT_EQ(p.Text(), "training epoch 1/5, batch 60/120, ETA 9m");
  clock.Advance(absl::Seconds(60));
  p.SetCount("epoch", 1, 5);
  p.SetSubCount("batch", 40, 120);  // 1 + 1/3 epochs of 5 in 120 s
  EXPECT_NEAR(absl::ToDoubleSeconds(*p.Eta()), 330, 1e-6);
  EXPECT_EQ(p.Text(), "training epoch 2/5, batch 40/120, ETA 6m");
  p.SetCount("epoch", 5, 5);
  EXPECT_EQ(p.Fraction(), 1);
  EXPECT_FALSE(p.Eta().has_value()) << "nothing left";
  EXPECT_EQ(p.Text(), "training epoch 5/5");
}

TEST(ProgressTest, ANewStageRestartsTheTiming) {
  FakeClock clock;
  Progress p(&clock);
  p.SetStage("reading headers");
  clock.Advance(absl::Hours(1));
  p.SetStage("decoding");
  clock.Advance(absl::Seconds(10));
  p.SetCount("series", 1, 3);
  EXPECT_NEAR(absl::ToDoubleSeconds(*p.Eta()), 20, 1e-6);
  EXPECT_EQ(p.Line(), "decoding series 1/3, 6.0/min, ETA 20s");
}

TEST(ProgressTest, AnUnknownTotalGivesCountsAndRateButNoEta) {
  FakeClock clock;
  Progress p(&clock);
  p.SetStage("dicom import: reading");
  clock.Advance(absl::Seconds(4));
  p.SetCount("file", 1000, 0);
  EXPECT_EQ(p.Fraction(), 0);
  EXPECT_FALSE(p.Eta().has_value());
  EXPECT_EQ(p.Line(), "dicom import: reading file 1000, 250/s");
}

TEST(ProgressTest, PrintsAtMostEveryIntervalAndAtTheEnd) {
  FakeClock clock;
  Progress p(&clock);
  std::vector<std::string> lines;
  p.PrintEvery(absl::Seconds(5), [&](const std::string& l) { lines.push_back(l); });
  p.SetStage("rows");
  for (int i = 1; i <= 100; ++i) {
    clock.Advance(absl::Milliseconds(100));
    p.SetCount("row", i, 100);
  }
  p.Finish();
  // 10 s of work: a line at 5 s and at 10 s, and the last one.
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "rows row 50/100, 10/s, ETA 5s");
  EXPECT_EQ(lines.back(), "rows row 100/100, 10/s");
}

TEST(ProgressTest, TheTextIsBounded) {
  FakeClock clock;
  Progress p(&clock);
  p.SetStage(std::string(500, 's'));
  p.SetCount(std::string(500, 'u'), 1, 2);
  p.SetSubCount(std::string(500, 'v'), 1, 2);
  EXPECT_LE(p.Text().size(), Progress::kMaxText);
  EXPECT_LE(p.Line().size(), Progress::kMaxText);
}

TEST(ProgressTest, CancelKeepsTheFirstReason) {
  Progress p;
  EXPECT_FALSE(p.cancelled());
  p.Cancel("the round closed");
  p.Cancel("again");
  EXPECT_TRUE(p.cancelled());
  EXPECT_EQ(p.cancel_reason(), "the round closed");
}

TEST(ProgressTest, FormatEtaForPeople) {
  EXPECT_EQ(FormatEta(absl::Seconds(0)), "0s");
  EXPECT_EQ(FormatEta(absl::Milliseconds(44100)), "45s");
  EXPECT_EQ(FormatEta(absl::Seconds(150)), "3m");
  EXPECT_EQ(FormatEta(absl::Minutes(80)), "1h20m");
  EXPECT_EQ(FormatEta(absl::Hours(2)), "2h");
  EXPECT_EQ(FormatEta(absl::Hours(51)), "2d3h");
}

}  // namespace
}  // namespace scancov
