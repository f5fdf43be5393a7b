// The model_selection answers under secure aggregation (model_selection_answer.h,
// SelectionSumVector; the kind's entry in secure_sum.h): the sum of the sites' vectors reads back
// as the pooled answer PoolMoments / PoolModelResults give for their answers in clear.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/wire/model_selection.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::wire {
namespace {

using nlohmann::json;
using protocol::StudyKind;
using scores::ModelSiteResult;
using scores::PartMoments;
using scores::SelectionRequest;
using ::testing::HasSubstr;

// Two variables, two folds: three parts (the folds' training parts, then all rows).
const std::string kSpec =
    R"({"analysis": "model_selection", "outcome": "severe", "variables": ["age", "spo2"],
        "folds": 2, "penalty_grid": [1]})";
const SelectionShape kShape{3, 2};

std::vector<PartMoments> Moments(double scale) {
  std::vector<PartMoments> m;
  for (int p = 0; p < 3; ++p) {
    const int64_t rows = static_cast<int64_t>(40 * scale) + p;
    m.push_back({rows, {rows, rows - 3}, {55.25 * scale * rows, 93.5 * (rows - 3)}});
  }
  return m;
}

// Two models: "age" fitted on fold 0's training part, both variables on all rows.
SelectionRequest Fits() {
  SelectionRequest r;
  r.kind = SelectionRequest::Kind::kFits;
  for (int p = 0; p < 3; ++p) {
    scores::Standardization s;
    s.means = Eigen::Vector2d(60.0 + p, 94.0);
    s.scales = Eigen::Vector2d(15.0, 3.5);
    r.parts.push_back(s);
  }
  r.models.push_back({0, {0}, {-1.25, 0.5}});
  r.models.push_back({2, {0, 1}, {-1.0, 0.25, -0.75}});
  return r;
}

ModelSiteResult Fit(const scores::ModelRequest& asked, double scale, double auc) {
  ModelSiteResult r;
  const size_t p = asked.beta.size();
  r.summary.beta = asked.beta;
  for (size_t i = 0; i < p; ++i) r.summary.gradient.push_back(scale * (0.75 - i));
  for (size_t i = 0; i < p * p; ++i) r.summary.information.push_back(scale * (2.5 + i % (p + 1)));
  r.summary.log_likelihood = -20.5 * scale;
  r.summary.weight_sum = 40 * scale;
  r.summary.num_observations = static_cast<int64_t>(40 * scale);
  r.summary.num_events = static_cast<int64_t>(10 * scale);
  r.summary.num_perfectly_fitted = 1;
  const bool all_rows = asked.part == kShape.parts - 1;
  r.auc = all_rows ? 0.5 : auc;
  r.pairs = all_rows ? 0.0 : 15 * scale * scale;
  return r;
}

SelectionSiteAnswer Answer(SelectionAggregates aggregates) {
  SelectionSiteAnswer a;
  a.aggregates = std::move(aggregates);
  a.suppressed = {"spo2"};
  return a;
}

// The sites' vectors from the registry's split, their sum, and each site's clear part.
std::vector<double> SumOfSplits(const std::vector<SelectionSiteAnswer>& answers,
                                const protocol::TensorSet* checkpoint, uint64_t length) {
  std::vector<double> sum(length, 0.0);
  for (const SelectionSiteAnswer& a : answers) {
    absl::StatusOr<SecureSumAnswer> part =
        SplitForSecureSum(StudyKind::model_selection, kSpec, checkpoint, ToJson(a));
    EXPECT_TRUE(part.ok()) << part.status();
    if (!part.ok()) return {};
    EXPECT_EQ(part->values.size(), length);
    for (size_t i = 0; i < sum.size() && i < part->values.size(); ++i) sum[i] += part->values[i];
    // In clear: the answer's kind and the site's suppressed names, no number.
    json expected = {{"analysis", "model_selection"},
                     {"status", "ok"},
                     {"secure_sum", true},
                     {"kind", KindName(a.aggregates.kind)},
                     {"suppressed", {"spo2"}}};
    EXPECT_EQ(json::parse(part->clear_json), expected);
  }
  return sum;
}

TEST(SelectionSecureSumTest, ModelSelectionIsListed) {
  EXPECT_TRUE(SumsAnswers(StudyKind::model_selection));
  EXPECT_THAT(SummedKindNames(), HasSubstr("model_selection"));
}

TEST(SelectionSecureSumTest, TheSumOfTheSitesMomentsReadsBackAsThePooledMoments) {
  absl::StatusOr<uint64_t> length = SecureSumLength(StudyKind::model_selection, kSpec, nullptr);
  ASSERT_TRUE(length.ok()) << length.status();
  EXPECT_EQ(*length, 3u * (1 + 2 * 2));
  std::vector<SelectionSiteAnswer> answers;
  std::vector<std::vector<PartMoments>> sites;
  for (double scale : {1.0, 2.0, 4.0}) {
    sites.push_back(Moments(scale));
    answers.push_back(Answer({SelectionRequest::Kind::kSums, sites.back(), {}}));
  }
  const std::vector<double> sum = SumOfSplits(answers, nullptr, *length);
  absl::StatusOr<SelectionAggregates> pooled =
      SelectionAggregatesFromSum(sum, SelectionRequest{}, kShape);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  absl::StatusOr<std::vector<PartMoments>> expected = scores::PoolMoments(sites);
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(pooled->moments.size(), expected->size());
  for (size_t p = 0; p < expected->size(); ++p) {
    EXPECT_EQ(pooled->moments[p].rows, (*expected)[p].rows);
    EXPECT_EQ(pooled->moments[p].observed, (*expected)[p].observed);
    EXPECT_EQ(pooled->moments[p].sums, (*expected)[p].sums);
  }
}

TEST(SelectionSecureSumTest, TheSumOfTheSitesFitsReadsBackAsThePooledFits) {
  const SelectionRequest asked = Fits();
  const protocol::TensorSet checkpoint = RequestToTensors(asked);
  absl::StatusOr<uint64_t> length = SecureSumLength(StudyKind::model_selection, kSpec, &checkpoint);
  ASSERT_TRUE(length.ok()) << length.status();
  EXPECT_EQ(*length, (2u + 4u + 7u) + (3u + 9u + 7u));
  std::vector<SelectionSiteAnswer> answers;
  std::vector<std::vector<ModelSiteResult>> sites;
  const double aucs[] = {0.625, 0.8, 0.71};
  int s = 0;
  for (double scale : {1.0, 2.0, 4.0}) {
    sites.push_back({Fit(asked.models[0], scale, aucs[s++]), Fit(asked.models[1], scale, 0.5)});
    answers.push_back(Answer({SelectionRequest::Kind::kFits, {}, sites.back()}));
  }
  const std::vector<double> sum = SumOfSplits(answers, &checkpoint, *length);
  absl::StatusOr<SelectionAggregates> pooled = SelectionAggregatesFromSum(sum, asked, kShape);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  absl::StatusOr<std::vector<ModelSiteResult>> expected = scores::PoolModelResults(sites);
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(pooled->models.size(), 2u);
  for (size_t m = 0; m < 2; ++m) {
    const stats::LogisticSiteSummary& got = pooled->models[m].summary;
    const stats::LogisticSiteSummary& want = (*expected)[m].summary;
    EXPECT_EQ(got.beta, asked.models[m].beta);
    EXPECT_EQ(got.gradient, want.gradient);
    EXPECT_EQ(got.information, want.information);
    EXPECT_EQ(got.log_likelihood, want.log_likelihood);
    EXPECT_EQ(got.weight_sum, want.weight_sum);
    EXPECT_EQ(got.num_observations, want.num_observations);
    EXPECT_EQ(got.num_events, want.num_events);
    EXPECT_EQ(got.num_perfectly_fitted, want.num_perfectly_fitted);
    EXPECT_EQ(pooled->models[m].pairs, (*expected)[m].pairs);
    // sum(auc x pairs) / sum(pairs) against sum((pairs / sum(pairs)) x auc): rounding apart.
    EXPECT_NEAR(pooled->models[m].auc, (*expected)[m].auc, 1e-15);
  }
  EXPECT_EQ(pooled->models[0].pairs, 15.0 * (1 + 4 + 16));
  EXPECT_EQ(pooled->models[1].auc, 0.5);  // the all-rows part has no held-out pairs
}

TEST(SelectionSecureSumTest, SumsNoSitesCouldHaveSentAreRefused) {
  const SelectionRequest asked = Fits();
  const protocol::TensorSet checkpoint = RequestToTensors(asked);
  const std::vector<ModelSiteResult> one = {Fit(asked.models[0], 1.0, 0.7),
                                            Fit(asked.models[1], 1.0, 0.5)};
  absl::StatusOr<std::vector<double>> good =
      SelectionSumVector({SelectionRequest::Kind::kFits, {}, one}, asked, kShape);
  ASSERT_TRUE(good.ok()) << good.status();
  ASSERT_TRUE(SelectionAggregatesFromSum(*good, asked, kShape).ok());
  // Model 0: gradient [0, 2), information [2, 6), log_likelihood 6, weight_sum 7, rows 8,
  // events 9, perfectly fitted 10, auc x pairs 11, pairs 12.
  const auto refused = [&](size_t at, double value) {
    std::vector<double> bad = *good;
    bad[at] = value;
    return std::string(SelectionAggregatesFromSum(bad, asked, kShape).status().message());
  };
  EXPECT_THAT(refused(8, 40.4), HasSubstr("num_observations is not a count"));
  EXPECT_THAT(refused(12, 15.5), HasSubstr("pairs is not a count"));
  EXPECT_THAT(refused(2, -1.0), HasSubstr("a negative information"));
  EXPECT_THAT(refused(9, 41), HasSubstr("counts out of range"));  // more events than rows
  EXPECT_THAT(refused(11, 15.5), HasSubstr("AUC x pairs outside [0, pairs]"));
  EXPECT_THAT(refused(6, 0.5), HasSubstr("log_likelihood must be finite and <= 0"));
  std::vector<double> short_sum(good->begin(), good->end() - 1);
  EXPECT_THAT(SelectionAggregatesFromSum(short_sum, asked, kShape).status().message(),
              HasSubstr("31 values, the round's answers have 32"));
  // Moments: rows 40, observed 40 and 37; observed above rows, fractional rows.
  std::vector<double> moments(15, 0.0);
  moments[0] = 40;
  moments[1] = 41;
  EXPECT_THAT(SelectionAggregatesFromSum(moments, SelectionRequest{}, kShape).status().message(),
              HasSubstr("observed[0] not in [0, rows]"));
  moments[1] = 40;
  moments[0] = 40.5;
  EXPECT_THAT(SelectionAggregatesFromSum(moments, SelectionRequest{}, kShape).status().message(),
              HasSubstr("a part's rows is not a count"));
}

TEST(SelectionSecureSumTest, RefusalsStayInClearAndClearPartsCarryNoNumbers) {
  SelectionSiteAnswer refused;
  refused.refused = true;
  refused.reason = "a held-out fold below the minimum count";
  absl::StatusOr<SecureSumAnswer> part =
      SplitForSecureSum(StudyKind::model_selection, kSpec, nullptr, ToJson(refused));
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_TRUE(part->refused);
  EXPECT_TRUE(part->values.empty());
  EXPECT_EQ(part->clear_json, ToJson(refused));

  const absl::Status numbers =
      ParseSelectionSiteAnswer(
          R"({"status": "ok", "secure_sum": true, "kind": "sums", "moments": []})")
          .status();
  EXPECT_THAT(numbers.message(), HasSubstr("carries its numbers masked, not in clear"));
  absl::StatusOr<SelectionSiteAnswer> clear =
      ParseSelectionSiteAnswer(R"({"status": "ok", "secure_sum": true, "kind": "squares"})");
  ASSERT_TRUE(clear.ok()) << clear.status();
  EXPECT_TRUE(clear->secure_sum);
  EXPECT_THAT(CheckClearPart(*clear, SelectionRequest{}).message(), HasSubstr("'kind' must be"));
  SelectionRequest squares;
  squares.kind = SelectionRequest::Kind::kSquares;
  EXPECT_TRUE(CheckClearPart(*clear, squares).ok());
  // A plain answer is not a clear part; a site's own answer is checked before its vector.
  EXPECT_FALSE(
      CheckClearPart(Answer({SelectionRequest::Kind::kSquares, Moments(1), {}}), squares).ok());
  std::vector<PartMoments> two_parts = Moments(1);
  two_parts.pop_back();
  EXPECT_FALSE(SplitForSecureSum(StudyKind::model_selection, kSpec, nullptr,
                                 ToJson(Answer({SelectionRequest::Kind::kSums, two_parts, {}})))
                   .ok());
}

TEST(SelectionSecureSumTest, TheResolutionAndTheVectorAreBoundedAtCreation) {
  EXPECT_TRUE(CheckSecureSumResolution(StudyKind::model_selection, kSpec, 28).ok());
  EXPECT_THAT(CheckSecureSumResolution(StudyKind::model_selection, kSpec, 27).message(),
              HasSubstr("fractional_bits must be at least 28 for this model selection"));
  // The largest spec the answer's bound allows (24 candidates, the default grid and folds).
  SelectionSpec wide;
  wide.outcome = "severe";
  for (int i = 0; i < 24; ++i) wide.variables.push_back("v" + std::to_string(i));
  ASSERT_TRUE(ParseSelectionSpec(ToJson(wide)).ok());
  const uint64_t largest = LargestSelectionSumLength(wide);
  EXPECT_GT(largest, 20000u);
  EXPECT_LT(largest, kMaxSelectionSumValues);
  EXPECT_TRUE(CheckSecureSumResolution(StudyKind::model_selection, ToJson(wide), 28).ok());
  // Two folds, one penalty, two candidates: a sums round (3 parts x 5) or a batch of
  // 2 x 2 models with p = 2 (13 values each).
  absl::StatusOr<SelectionSpec> small = ParseSelectionSpec(kSpec);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(LargestSelectionSumLength(*small), 52u);
}

}  // namespace
}  // namespace scancov::wire
