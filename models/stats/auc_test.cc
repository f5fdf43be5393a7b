#include "models/stats/auc.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

// 12 positives then 14 negatives; two scores with ties within and across classes.
const std::vector<double> kLabels = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
                                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
const std::vector<double> kScore1 = {0.9,  0.8,  0.8, 0.7,  0.65, 0.6, 0.55, 0.5, 0.4,
                                     0.35, 0.3,  0.2, 0.7,  0.6,  0.5, 0.45, 0.4, 0.3,
                                     0.3,  0.25, 0.2, 0.15, 0.1,  0.1, 0.05, 0.5};
const std::vector<double> kScore2 = {3, 5, 2, 4, 4, 1, 3, 2, 5, 2, 3, 1, 2,
                                     1, 3, 1, 2, 2, 1, 4, 1, 3, 2, 1, 2, 1};

void ExpectRelative(double actual, double expected, double tol) {
  EXPECT_NEAR(actual, expected, tol * std::fabs(expected)) << "expected " << expected;
}

// Reference: R 4.2.2, pROC 1.18.0 (the vectors above as labels, s1, s2):
//   r1 <- roc(labels, s1, direction = "<"); r2 <- roc(labels, s2, direction = "<")
//   auc(r1); var(r1); ci.auc(r1, method = "delong")        (and the same for r2)
//   ci.auc(r1, conf.level = 0.9, method = "delong")
TEST(AucTest, DeLongMatchesPRoc) {
  absl::StatusOr<AucResult> a = AucWithDeLong(kScore1, kLabels);
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectRelative(a->auc, 0.785714285714286, 1e-13);
  ExpectRelative(a->variance, 0.00808566433566434, 1e-12);
  ExpectRelative(a->ci_lower, 0.609473692820907, 1e-12);
  ExpectRelative(a->ci_upper, 0.961954878607664, 1e-12);
  EXPECT_EQ(a->num_positive, 12);
  EXPECT_EQ(a->num_negative, 14);
  absl::StatusOr<AucResult> b = AucWithDeLong(kScore2, kLabels);
  ASSERT_TRUE(b.ok());
  ExpectRelative(b->auc, 0.729166666666667, 1e-13);
  ExpectRelative(b->variance, 0.00991481237016951, 1e-12);
  ExpectRelative(b->ci_lower, 0.534006877173762, 1e-12);
  ExpectRelative(b->ci_upper, 0.924326456159571, 1e-12);
  absl::StatusOr<AucResult> ninety = AucWithDeLong(kScore1, kLabels, 0.9);
  ASSERT_TRUE(ninety.ok());
  ExpectRelative(ninety->ci_lower, 0.637808517688257, 1e-12);
  ExpectRelative(ninety->ci_upper, 0.933620053740314, 1e-12);
  // scikit-learn 1.2.1: roc_auc_score(labels, s1) = 0.7857142857142856.
  absl::StatusOr<double> plain = Auc(kScore1, kLabels);
  ASSERT_TRUE(plain.ok());
  ExpectRelative(*plain, 0.7857142857142856, 1e-14);
}

// Reference: pROC as above, then by hand from its DeLong variance:
//   a <- as.numeric(auc(r1)); se <- sqrt(var(r1)) / (a * (1 - a))
//   plogis(qlogis(a) + c(-1, 1) * qnorm(0.975) * se)
TEST(AucTest, LogitIntervalMatchesR) {
  absl::StatusOr<AucResult> a = AucWithDeLong(kScore1, kLabels, 0.95, AucInterval::kLogit);
  ASSERT_TRUE(a.ok());
  ExpectRelative(a->ci_lower, 0.562796827321323, 1e-12);
  ExpectRelative(a->ci_upper, 0.912619372670051, 1e-12);
}

// Reference: pROC: l <- c(1,1,1,1,0,0,0,0,0); s <- c(0.9,0.8,0.7,0.35,0.4,0.3,0.2,0.1,0.05)
//   r <- roc(l, s, direction = "<"); auc(r); var(r); ci.auc(r, method = "delong")
//   -> 0.95, 0.005, 0.811409617565032 .. 1 (pROC clips the upper limit at 1).
TEST(AucTest, PlainIntervalIsClippedLikePRoc) {
  absl::StatusOr<AucResult> a =
      AucWithDeLong({0.9, 0.8, 0.7, 0.35, 0.4, 0.3, 0.2, 0.1, 0.05}, {1, 1, 1, 1, 0, 0, 0, 0, 0});
  ASSERT_TRUE(a.ok());
  ExpectRelative(a->auc, 0.95, 1e-14);
  ExpectRelative(a->variance, 0.005, 1e-12);
  ExpectRelative(a->ci_lower, 0.811409617565032, 1e-12);
  EXPECT_EQ(a->ci_upper, 1.0);
}

// Reference: pROC: cov(r1, r2); t <- roc.test(r1, r2, method = "delong", paired = TRUE)
//   t$statistic; t$p.value
TEST(AucTest, PairedDeLongTestMatchesPRoc) {
  absl::StatusOr<AucComparison> c = CompareAucsDeLong(kScore1, kScore2, kLabels);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectRelative(c->covariance, 0.00148561755704613, 1e-12);
  ExpectRelative(c->z, 0.461259995807002, 1e-12);
  ExpectRelative(c->p_value, 0.644612082259913, 1e-12);
  ExpectRelative(c->difference, 0.785714285714286 - 0.729166666666667, 1e-12);
  // A score compared with itself: no difference, z = 0, p = 1.
  absl::StatusOr<AucComparison> same = CompareAucsDeLong(kScore1, kScore1, kLabels);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->z, 0.0);
  EXPECT_EQ(same->p_value, 1.0);
}

TEST(AucTest, RejectsBadInput) {
  EXPECT_EQ(Auc({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Auc({0.1, 0.2}, {1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Auc({0.1, std::numeric_limits<double>::quiet_NaN()}, {1, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Auc({0.1, 0.2}, {1, 2}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Auc({0.1, 0.2}, {1, 1}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Auc({0.1, 0.2}, {1, 0}).ok());
  // DeLong needs two of each class.
  EXPECT_EQ(AucWithDeLong({0.1, 0.2, 0.3}, {1, 0, 0}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CompareAucsDeLong(kScore1, std::vector<double>(3, 0.0), kLabels).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::stats
