#include "models/ct/evaluation.h"

#include <cmath>

#include "gtest/gtest.h"

namespace scancov::ct {
namespace {

LabelVolume Line(std::vector<uint8_t> v) {
  LabelVolume l(static_cast<int>(v.size()), 1, 1, {1, 1, 1});
  l.voxels = std::move(v);
  return l;
}

// Hand-computed in the comments: see the voxel-by-voxel table in the test body.
TEST(Evaluation, ScanMetricsByHand) {
  const LabelVolume ref = Line({0, 0, 1, 1, 2, 2, 3, 4, 4, 1});
  const LabelVolume pred = Line({0, 1, 1, 2, 2, 2, 1, 4, 0, 1});
  absl::StatusOr<ScanEvaluation> e = EvaluateScan(pred, ref);
  ASSERT_TRUE(e.ok()) << e.status();
  // Lung agrees at voxels 0, 2-7, 9: 8 of 10.
  EXPECT_DOUBLE_EQ(e->lung_accuracy, 0.8);
  // Over reference lung voxels 2..9: TN, FP, TP, TP, FN, TP, FN, TN.
  EXPECT_EQ(e->lesion_vs_healthy.tp, 3);
  EXPECT_EQ(e->lesion_vs_healthy.fp, 1);
  EXPECT_EQ(e->lesion_vs_healthy.fn, 2);
  EXPECT_EQ(e->lesion_vs_healthy.tn, 2);
  EXPECT_DOUBLE_EQ(e->lesion_f1, 6.0 / 9.0);
  EXPECT_DOUBLE_EQ(e->dice[0], 14.0 / 16.0);
  EXPECT_DOUBLE_EQ(e->dice[1], 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(e->dice[2], 0.8);
  EXPECT_DOUBLE_EQ(e->dice[3], 0.0);
  EXPECT_DOUBLE_EQ(e->dice[4], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(e->relative_volume_error[0], 0.0);
  EXPECT_DOUBLE_EQ(e->relative_volume_error[1], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(e->relative_volume_error[2], 0.5);
  EXPECT_DOUBLE_EQ(e->relative_volume_error[3], -1.0);
  EXPECT_DOUBLE_EQ(e->relative_volume_error[4], -0.5);
}

TEST(Evaluation, EmptyClassesAndErrors) {
  const LabelVolume a = Line({0, 1, 1});
  absl::StatusOr<ScanEvaluation> e = EvaluateScan(a, a);
  ASSERT_TRUE(e.ok());
  EXPECT_DOUBLE_EQ(e->dice[2], 1.0);  // absent in both
  EXPECT_TRUE(std::isnan(e->relative_volume_error[2]));
  EXPECT_DOUBLE_EQ(e->lesion_f1, 1.0);
  EXPECT_FALSE(EvaluateScan(a, Line({0, 1})).ok());
  EXPECT_FALSE(EvaluateScan(a, Line({0, 1, 7})).ok());
  EXPECT_FALSE(SummariseScans({}).ok());
}

ScanEvaluation Counts(std::array<int64_t, 5> pred, std::array<int64_t, 5> ref) {
  ScanEvaluation s;
  s.predicted_voxels = pred;
  s.reference_voxels = ref;
  return s;
}

TEST(Evaluation, PresenceDetectionByHand) {
  // Scan A (200 lung voxels): reference GGO 5%, CP 1.5%; prediction GGO 6%, CP 0.5%, cons 1.5%.
  // Scan B (100 lung voxels): reference cons 2%; prediction GGO 1%, cons 5%.
  const std::vector<ScanEvaluation> scans = {Counts({200, 184, 12, 1, 3}, {200, 187, 10, 3, 0}),
                                             Counts({100, 94, 1, 0, 5}, {100, 98, 0, 0, 2})};
  const PresenceEvaluation p1 = EvaluatePresence(scans, 0.01);
  // GGO: TP (A); CP: FN (A); cons: FP (A), TP (B).
  EXPECT_DOUBLE_EQ(p1.f1[0], 1.0);
  EXPECT_DOUBLE_EQ(p1.f1[1], 0.0);
  EXPECT_DOUBLE_EQ(p1.f1[2], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(p1.micro_f1, 4.0 / 6.0);  // TP 2, FP 1, FN 1
  const PresenceEvaluation p2 = EvaluatePresence(scans, 0.02);
  // GGO: TP (A); CP: nothing present (F1 1); cons: FP (B: 5% vs exactly 2%, not more than 2%).
  EXPECT_DOUBLE_EQ(p2.f1[0], 1.0);
  EXPECT_DOUBLE_EQ(p2.f1[1], 1.0);
  EXPECT_DOUBLE_EQ(p2.f1[2], 0.0);
  EXPECT_DOUBLE_EQ(p2.micro_f1, 2.0 / 3.0);  // TP 1, FP 1
}

TEST(Evaluation, SetSummaryPoolsVoxels) {
  absl::StatusOr<ScanEvaluation> a =
      EvaluateScan(Line({0, 1, 1, 2, 2, 2, 1, 4, 0, 1}), Line({0, 0, 1, 1, 2, 2, 3, 4, 4, 1}));
  absl::StatusOr<ScanEvaluation> b = EvaluateScan(Line({0, 2, 2, 1}), Line({0, 2, 2, 2}));
  ASSERT_TRUE(a.ok() && b.ok());
  // b: lung agrees everywhere (4/4); lesion TP 2, FN 1 -> F1 0.8; GGO error (2-3)/3.
  absl::StatusOr<SetEvaluation> s = SummariseScans({*a, *b});
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->lung_accuracy_micro, 12.0 / 14.0);
  EXPECT_DOUBLE_EQ(s->lung_accuracy_macro, 0.5 * (0.8 + 1.0));
  EXPECT_DOUBLE_EQ(s->lesion_f1_micro, 10.0 / 14.0);  // TP 5, FP 1, FN 3
  EXPECT_DOUBLE_EQ(s->lesion_f1_macro, 0.5 * (6.0 / 9.0 + 0.8));
  EXPECT_DOUBLE_EQ(s->median_abs_relative_volume_error[2], 0.5 * (0.5 + 1.0 / 3.0));
  EXPECT_DOUBLE_EQ(s->median_abs_relative_volume_error[3], 1.0);  // only scan a has CP
}

}  // namespace
}  // namespace scancov::ct
