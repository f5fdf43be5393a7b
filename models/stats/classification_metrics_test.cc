#include "models/stats/classification_metrics.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

const std::vector<double> kLabels = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
                                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
const std::vector<double> kScores = {0.9,  0.8,  0.8, 0.7,  0.65, 0.6, 0.55, 0.5, 0.4,
                                     0.35, 0.3,  0.2, 0.7,  0.6,  0.5, 0.45, 0.4, 0.3,
                                     0.3,  0.25, 0.2, 0.15, 0.1,  0.1, 0.05, 0.5};

// Reference: scikit-learn 1.2.1 (labels, s1 as above):
//   tn, fp, fn, tp = confusion_matrix(labels, (s1 >= t).astype(int)).ravel()
//   tp / (tp + fn), tn / (tn + fp), tp / (tp + fp), tn / (tn + fn)   for t = 0.5, 0.45
TEST(ClassificationMetricsTest, ThresholdMetricsMatchScikitLearn) {
  absl::StatusOr<ThresholdMetrics> m = MetricsAtThreshold(kScores, kLabels, 0.5);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->true_positives, 8);
  EXPECT_EQ(m->false_positives, 4);
  EXPECT_EQ(m->true_negatives, 10);
  EXPECT_EQ(m->false_negatives, 4);
  EXPECT_DOUBLE_EQ(m->sensitivity, 0.6666666666666666);
  EXPECT_DOUBLE_EQ(m->specificity, 0.7142857142857143);
  EXPECT_DOUBLE_EQ(m->ppv, 0.6666666666666666);
  EXPECT_DOUBLE_EQ(m->npv, 0.7142857142857143);
  m = MetricsAtThreshold(kScores, kLabels, 0.45);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->false_positives, 5);
  EXPECT_DOUBLE_EQ(m->specificity, 0.6428571428571429);
  EXPECT_DOUBLE_EQ(m->ppv, 0.6153846153846154);
  EXPECT_DOUBLE_EQ(m->npv, 0.6923076923076923);
}

TEST(ClassificationMetricsTest, UndefinedRatiosAreNaN) {
  absl::StatusOr<ThresholdMetrics> m = MetricsAtThreshold(kScores, kLabels, 2.0);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->true_positives + m->false_positives, 0);
  EXPECT_TRUE(std::isnan(m->ppv));
  EXPECT_EQ(m->sensitivity, 0.0);
  EXPECT_EQ(m->specificity, 1.0);
}

// Reference: scikit-learn 1.2.1, roc_curve(labels, s1, drop_intermediate=False). Its first
// threshold is max + 1 = 1.9 (newer versions use inf, as we do); the rest must agree.
TEST(ClassificationMetricsTest, RocCurveMatchesScikitLearn) {
  const std::vector<double> fpr = {0.0,
                                   0.0,
                                   0.0,
                                   0.07142857142857142,
                                   0.07142857142857142,
                                   0.14285714285714285,
                                   0.14285714285714285,
                                   0.2857142857142857,
                                   0.35714285714285715,
                                   0.42857142857142855,
                                   0.42857142857142855,
                                   0.5714285714285714,
                                   0.6428571428571429,
                                   0.7142857142857143,
                                   0.7857142857142857,
                                   0.9285714285714286,
                                   1.0};
  const std::vector<double> tpr = {0.0,
                                   0.08333333333333333,
                                   0.25,
                                   0.3333333333333333,
                                   0.4166666666666667,
                                   0.5,
                                   0.5833333333333334,
                                   0.6666666666666666,
                                   0.6666666666666666,
                                   0.75,
                                   0.8333333333333334,
                                   0.9166666666666666,
                                   0.9166666666666666,
                                   1.0,
                                   1.0,
                                   1.0,
                                   1.0};
  const std::vector<double> thresholds = {0.9, 0.8,  0.7, 0.65, 0.6, 0.55, 0.5, 0.45,
                                          0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05};
  absl::StatusOr<std::vector<RocPoint>> curve = RocCurve(kScores, kLabels);
  ASSERT_TRUE(curve.ok()) << curve.status();
  ASSERT_EQ(curve->size(), fpr.size());
  EXPECT_TRUE(std::isinf((*curve)[0].threshold));
  for (size_t i = 0; i < fpr.size(); ++i) {
    EXPECT_DOUBLE_EQ((*curve)[i].false_positive_rate, fpr[i]) << i;
    EXPECT_DOUBLE_EQ((*curve)[i].true_positive_rate, tpr[i]) << i;
    if (i > 0) {
      EXPECT_EQ((*curve)[i].threshold, thresholds[i - 1]) << i;
    }
  }
}

TEST(ClassificationMetricsTest, RejectsBadInput) {
  EXPECT_EQ(MetricsAtThreshold({}, {}, 0.5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsAtThreshold({0.1}, {1, 0}, 0.5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsAtThreshold({0.1, 0.2}, {1, 0}, std::numeric_limits<double>::quiet_NaN())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RocCurve({0.1, 0.2}, {1, 1}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RocCurve({0.1, std::numeric_limits<double>::infinity()}, {1, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::stats
