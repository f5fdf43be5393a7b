#include "models/stats/federated_pca.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace scancov::stats {
namespace {

// The rows, split between two sites; the pooled fit must be the fit on all eight.
const std::vector<std::vector<float>> kSiteA = {
    {1.0f, 2.0f, 0.5f, -1.0f}, {2.5f, 0.5f, 1.0f, 0.0f}, {0.0f, 1.5f, -0.5f, 2.0f}};
const std::vector<std::vector<float>> kSiteB = {{3.0f, 3.5f, 1.5f, -0.5f},
                                                {1.5f, -1.0f, 0.0f, 1.0f},
                                                {-0.5f, 2.5f, 2.0f, 0.5f},
                                                {2.0f, 1.0f, -1.5f, -2.0f},
                                                {0.5f, 0.0f, 1.0f, 1.5f}};

// Python 3.11, numpy 1.24.2, scikit-learn 1.2.1, scipy 1.10.1:
//   X = np.array(<kSiteA rows, then kSiteB rows>)
//   Y = np.array([[1, 1, 1, 1], [-2, 0.5, 3, 0.25]])
//   pca = PCA(n_components=2, whiten=True, svd_solver="full").fit(X)
//   pca.mean_, pca.components_, pca.explained_variance_,
//   pca.explained_variance_ratio_.sum(), pca.transform(Y)
const double kMean[4] = {1.25, 1.25, 0.5, 0.1875};
const double kComponents[2][4] = {
    {0.46225527064385075, 0.571374194039549, 0.03657147145691628, -0.6771367089614269},
    {-0.3949356820516996, 0.6476904445364491, 0.5741960528774919, 0.30793146633373497}};
const double kEigenvalues[2] = {2.911051559959931, 2.300641735234342};
const double kExplainedRatio = 0.7850835898611419;
const double kWhitened[2][2] = {{-0.4631955718858833, 0.31257108761571434},
                                {-1.1029036788516244, 1.4850532770910367}};

absl::StatusOr<PcaProjection> PooledFit() {
  PcaSums total;
  absl::Status a = AddPcaSums(SumRows(kSiteA), &total);
  absl::Status b = AddPcaSums(SumRows(kSiteB), &total);
  if (!a.ok()) return a;
  if (!b.ok()) return b;
  return PcaFromSums(total, 2);
}

TEST(FederatedPcaTest, PooledSumsGiveScikitLearnsPca) {
  absl::StatusOr<PcaProjection> pca = PooledFit();
  ASSERT_TRUE(pca.ok()) << pca.status();
  ASSERT_EQ(pca->components.rows(), 2);
  ASSERT_EQ(pca->components.cols(), 4);
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(pca->mean(j), kMean[j], 1e-12);
  for (int c = 0; c < 2; ++c) {
    // An eigenvector's sign is arbitrary: compare after aligning it.
    const double sign = pca->components(c, 0) * kComponents[c][0] < 0 ? -1 : 1;
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(sign * pca->components(c, j), kComponents[c][j], 1e-10);
    EXPECT_NEAR(pca->scale(c) * pca->scale(c), kEigenvalues[c], 1e-10);
  }
  EXPECT_NEAR(pca->explained_variance, kExplainedRatio, 1e-12);
}

TEST(FederatedPcaTest, StandardizedComponentsAreScikitLearnsWhitenedTransform) {
  absl::StatusOr<PcaProjection> pca = PooledFit();
  ASSERT_TRUE(pca.ok()) << pca.status();
  absl::StatusOr<Eigen::MatrixXd> z =
      ProjectStandardized(*pca, {{1.0f, 1.0f, 1.0f, 1.0f}, {-2.0f, 0.5f, 3.0f, 0.25f}});
  ASSERT_TRUE(z.ok()) << z.status();
  ASSERT_EQ(z->rows(), 2);
  ASSERT_EQ(z->cols(), 2);
  for (int c = 0; c < 2; ++c) {
    const double sign = pca->components(c, 0) * kComponents[c][0] < 0 ? -1 : 1;
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(sign * (*z)(i, c), kWhitened[i][c], 1e-10);
  }
  EXPECT_EQ(ProjectStandardized(*pca, {{1.0f, 2.0f, 3.0f}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FederatedPcaTest, KeepsAtMostTheDimensionAndNeedsTwoRows) {
  PcaSums total;
  ASSERT_TRUE(AddPcaSums(SumRows(kSiteB), &total).ok());
  absl::StatusOr<PcaProjection> all = PcaFromSums(total, 40);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->scale.size(), 4);
  EXPECT_NEAR(all->explained_variance, 1.0, 1e-12);
  EXPECT_EQ(PcaFromSums(SumRows({{1.0f, 2.0f}}), 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PcaFromSums(total, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AddPcaSums(SumRows({{1.0f, 2.0f}}), &total).code(), absl::StatusCode::kInvalidArgument);
}

TEST(FederatedPcaTest, LogisticProbabilitiesAreScipysExpit) {
  // scipy.special.expit(beta[0] + Z @ beta[1:]) with
  //   Z = [[0.5, -1.25], [2.0, 0.75], [-3.0, 1.5]], beta = [-0.3, 0.8, -1.1]
  Eigen::MatrixXd z(3, 2);
  z << 0.5, -1.25, 2.0, 0.75, -3.0, 1.5;
  absl::StatusOr<std::vector<double>> p = LogisticProbabilities(z, {-0.3, 0.8, -1.1});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 3u);
  EXPECT_NEAR((*p)[0], 0.8138161720984914, 1e-15);
  EXPECT_NEAR((*p)[1], 0.6165665045213193, 1e-15);
  EXPECT_NEAR((*p)[2], 0.0127423494641116, 1e-15);
  EXPECT_EQ(LogisticProbabilities(z, {1.0, 2.0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Issue 12, attack 5: a site's d x d sum of outer products from barely more rows than 2 x the
// minimum count nearly lays bare each row; it is releasable only from d x min_cell rows.
TEST(FederatedPcaTest, SecondMomentsNeedDTimesTheMinimumCountOfRows) {
  EXPECT_EQ(MinRowsForSecondMoments(64, 10), 640);
  EXPECT_EQ(MinRowsForSecondMoments(4, 0), 4);  // no minimum: still d rows
  EXPECT_TRUE(CheckSecondMomentsReleasable(640, 64, 10, "pca").ok());
  const absl::Status refused = CheckSecondMomentsReleasable(639, 64, 10, "pca");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "pca: a 64 x 64 second-moment matrix needs at least 640 patients, has 639");
  // 2 x the minimum count, enough for a single statistic, is far from enough here.
  EXPECT_FALSE(CheckSecondMomentsReleasable(20, 64, 10, "pca").ok());
  EXPECT_EQ(CheckSecondMomentsReleasable(10, 0, 10, "pca").code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::stats
