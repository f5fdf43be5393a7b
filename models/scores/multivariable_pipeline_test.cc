#include "models/scores/multivariable_pipeline.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/scores/penalized_cv.h"
#include "models/scores/stratified_folds.h"
#include "models/stats/auc.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/ground_truth.h"
#include "sites/cohort/variables.h"

namespace scancov::scores {
namespace {

TEST(StratifiedFoldsTest, BalancedDeterministicAndStratified) {
  std::vector<double> y, age;
  for (int i = 0; i < 103; ++i) {
    y.push_back(i % 4 == 0 ? 1.0 : 0.0);
    age.push_back(i % 7 == 0 ? std::nan("") : 20.0 + (i * 37) % 70);
  }
  const absl::StatusOr<std::vector<int>> a = StratifiedFolds(y, age, {5, 4, 1});
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<int> size(5, 0), events(5, 0);
  for (size_t i = 0; i < y.size(); ++i) {
    ++size[(*a)[i]];
    events[(*a)[i]] += static_cast<int>(y[i]);
  }
  for (int f = 0; f < 5; ++f) {
    EXPECT_GE(size[f], 20);
    EXPECT_LE(size[f], 21);
    EXPECT_GE(events[f], 4);  // 26 events over 5 folds
    EXPECT_LE(events[f], 7);
  }
  EXPECT_EQ(*a, *StratifiedFolds(y, age, {5, 4, 1}));
  EXPECT_NE(*a, *StratifiedFolds(y, age, {5, 4, 2}));
  EXPECT_TRUE(StratifiedFolds(y, {}, {5, 4, 1}).ok());  // outcome only
  EXPECT_TRUE(absl::IsInvalidArgument(StratifiedFolds(y, {1.0, 2.0}, {5, 4, 1}).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      StratifiedFolds(std::vector<double>{1, 0, 0, 0, 0, 0, 1}, {}, {5, 4, 1}).status()));
}

// Column [1, NaN, 3, 5]: mean of the observed values 3; imputed [1, 3, 3, 5]; population SD
// sqrt((4 + 0 + 0 + 4) / 4) = sqrt(2). Standardised: [-sqrt(2), 0, 0, sqrt(2)].
TEST(PenalizedCvTest, ImputationAndStandardisationByHand) {
  Eigen::MatrixXd x(4, 2);
  x << 1, 7, std::nan(""), 7, 3, 7, 5, 7;
  const absl::StatusOr<Standardization> s = FitStandardization(x, {0, 1, 2, 3});
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->means[0], 3.0);
  EXPECT_DOUBLE_EQ(s->scales[0], std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(s->scales[1], 0.0);  // constant column
  const Eigen::MatrixXd z = ApplyStandardization(*s, x, {0, 1, 3});
  EXPECT_DOUBLE_EQ(z(0, 0), -std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(z(1, 0), 0.0);
  EXPECT_DOUBLE_EQ(z(2, 0), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(z(2, 1), 0.0);
  // Learnt on rows 0 and 1 only: column 0 has one observed value, 1.
  const absl::StatusOr<Standardization> part = FitStandardization(x, {0, 1});
  ASSERT_TRUE(part.ok());
  EXPECT_DOUBLE_EQ(part->means[0], 1.0);
  EXPECT_TRUE(absl::IsInvalidArgument(FitStandardization(x, {1}).status()));
  const std::vector<double> grid = LogGrid(0.01, 100.0, 5);
  ASSERT_EQ(grid.size(), 5u);
  EXPECT_NEAR(grid[0], 0.01, 1e-15);
  EXPECT_NEAR(grid[1], 0.1, 1e-15);
  EXPECT_NEAR(grid[4], 100.0, 1e-12);
}

// The synthetic KB site as a training table: every admission variable (canonical units, NaN
// when missing), outcome severe.
TrainingTable SiteTable(uint64_t seed) {
  const sites::SyntheticSite site = sites::GenerateSite(*sites::NamedSiteProfile("kb"), seed);
  TrainingTable table;
  for (const sites::VariableSpec& v : sites::AdmissionVariables())
    table.variables.push_back(v.name);
  table.values.resize(static_cast<Eigen::Index>(site.patients.size()),
                      static_cast<Eigen::Index>(table.variables.size()));
  table.outcome.resize(static_cast<Eigen::Index>(site.patients.size()));
  for (size_t i = 0; i < site.patients.size(); ++i) {
    for (size_t j = 0; j < table.variables.size(); ++j) {
      table.values(i, j) = site.patients[i].observed[j];
    }
    table.outcome[i] = site.patients[i].outcomes.severe ? 1.0 : 0.0;
  }
  return table;
}

PipelineOptions FastOptions() {
  PipelineOptions options;
  options.penalty_grid = LogGrid(0.01, 100.0, 3);  // 0.01, 1, 100: keeps the test fast
  options.max_variables = 10;
  options.seed = 3;
  return options;
}

TEST(MultivariablePipelineTest, RecoversInformativeVariablesOnTheSyntheticKbSite) {
  const TrainingTable table = SiteTable(42);
  const absl::StatusOr<MultivariableModel> model = FitMultivariableModel(table, FastOptions());
  ASSERT_TRUE(model.ok()) << model.status();
  for (const SelectionStep& step : model->path()) {
    std::printf("  + %-24s CV AUC %.4f (penalty %g)\n", step.variable.c_str(), step.mean_auc,
                step.penalty);
  }
  if (model->rejected().has_value()) {
    std::printf("  elbow: %s would give %.4f\n", model->rejected()->variable.c_str(),
                model->rejected()->mean_auc);
  }
  // The generator's sparse columns (fewer than 300 of 800 observed) are dropped.
  const std::set<std::string> sparse(model->dropped_sparse().begin(),
                                     model->dropped_sparse().end());
  EXPECT_TRUE(sparse.count("procalcitonin"));
  EXPECT_TRUE(sparse.count("conjugated_bilirubin"));
  EXPECT_TRUE(sparse.count("alt"));

  const std::vector<std::string> nulls = sites::VariablesWith(sites::Association::kNull);
  const std::vector<std::string> significant =
      sites::VariablesWith(sites::Association::kSignificant);
  const std::vector<std::string>& selected = model->variables();
  ASSERT_GE(selected.size(), 3u);
  for (const std::string& v : selected) {
    EXPECT_EQ(std::count(nulls.begin(), nulls.end(), v), 0) << v << " has no effect";
  }
  // The first three picks have a direct effect; SpO2 and the disease extent are among them or
  // at least selected.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(std::count(significant.begin(), significant.end(), selected[i]), 1) << selected[i];
  }
  for (const char* strong : {"spo2", "disease_extent"}) {
    EXPECT_EQ(std::count(selected.begin(), selected.end(), strong), 1) << strong;
  }
  // AUCs rise along the path; the model validates on a fresh draw of the site.
  for (size_t i = 1; i < model->path().size(); ++i) {
    EXPECT_GE(model->path()[i].mean_auc, model->path()[i - 1].mean_auc + 0.005);
  }
  EXPECT_GT(model->cv_auc(), 0.72);
  const TrainingTable validation = SiteTable(4242);
  const absl::StatusOr<std::vector<double>> p = model->PredictTable(validation);
  ASSERT_TRUE(p.ok()) << p.status();
  const std::vector<double> labels(validation.outcome.data(),
                                   validation.outcome.data() + validation.outcome.size());
  const absl::StatusOr<double> auc = stats::Auc(*p, labels);
  ASSERT_TRUE(auc.ok());
  std::printf("  validation AUC on a fresh KB draw: %.4f\n", *auc);
  EXPECT_GT(*auc, 0.72);
}

TEST(MultivariablePipelineTest, DeterministicAndScoresNamedInputs) {
  const TrainingTable table = SiteTable(7);
  PipelineOptions options = FastOptions();
  options.initial_variables = {"disease_extent"};  // CT first, as the seed's trimodal models
  options.max_variables = 3;
  const absl::StatusOr<MultivariableModel> a = FitMultivariableModel(table, options);
  const absl::StatusOr<MultivariableModel> b = FitMultivariableModel(table, options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->variables(), b->variables());
  EXPECT_EQ(a->coefficients(), b->coefficients());
  EXPECT_EQ(a->variables().front(), "disease_extent");
  EXPECT_LE(a->variables().size(), 3u);

  // By hand: disease_extent missing (imputed: contributes 0) and every other variable one SD
  // above its mean, so eta = intercept + sum of the other coefficients.
  std::vector<double> row;
  for (size_t j = 0; j < a->variables().size(); ++j) {
    row.push_back(j == 0 ? std::nan("")
                         : a->standardization().means[j] + a->standardization().scales[j]);
  }
  const double eta = a->intercept() + a->coefficients().tail(a->coefficients().size() - 1).sum();
  EXPECT_NEAR(*a->PredictRow(row), 1.0 / (1.0 + std::exp(-eta)), 1e-12);

  // Named inputs from a patient who has every selected variable, disease_extent erased.
  Eigen::Index patient = -1;
  std::vector<int> columns;
  for (const std::string& v : a->variables()) {
    columns.push_back(static_cast<int>(
        std::find(table.variables.begin(), table.variables.end(), v) - table.variables.begin()));
  }
  for (Eigen::Index i = 0; i < table.values.rows() && patient < 0; ++i) {
    bool complete = true;
    for (int c : columns) complete = complete && !std::isnan(table.values(i, c));
    if (complete) patient = i;
  }
  ASSERT_GE(patient, 0);
  PatientInputs inputs;
  for (size_t j = 0; j < columns.size(); ++j) {
    row[j] = j == 0 ? std::nan("") : table.values(patient, columns[j]);
    inputs.Set(a->variables()[j], row[j]);
  }
  std::vector<std::string> imputed;
  const absl::StatusOr<double> named = a->Predict(inputs, &imputed);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(imputed, std::vector<std::string>{"disease_extent"});
  EXPECT_NEAR(*named, *a->PredictRow(row), 1e-15);
  // A plausibility-checked variable in the wrong unit is refused, not imputed.
  if (FindInputSpec(a->variables().back()) != nullptr) {
    inputs.Set(a->variables().back(), 1e9);
    EXPECT_TRUE(absl::IsInvalidArgument(a->Predict(inputs).status()));
  }
}

TEST(MultivariablePipelineTest, BadTablesAndOptionsAreRefused) {
  TrainingTable table = SiteTable(9);
  PipelineOptions options = FastOptions();
  options.initial_variables = {"procalcitonin"};  // dropped as sparse
  EXPECT_TRUE(absl::IsInvalidArgument(FitMultivariableModel(table, options).status()));
  options.initial_variables = {"no_such_variable"};
  EXPECT_TRUE(absl::IsInvalidArgument(FitMultivariableModel(table, options).status()));
  options = FastOptions();
  options.min_observed = 100000;  // everything sparse
  EXPECT_TRUE(absl::IsFailedPrecondition(FitMultivariableModel(table, options).status()));
  table.outcome[5] = std::nan("");
  EXPECT_TRUE(absl::IsInvalidArgument(FitMultivariableModel(table, FastOptions()).status()));
}

}  // namespace
}  // namespace scancov::scores
