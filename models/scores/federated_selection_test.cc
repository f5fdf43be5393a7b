// The federated multivariable selection (selection_site.h, selection_driver.h) against the
// pooled pipeline (multivariable_pipeline.h): with one site holding the whole table every step,
// AUC, penalty and coefficient must be the pooled one; with several sites on data with a known
// answer it must find the signal. Requests and answers go through the wire format (tensors and
// JSON, protocol/wire/model_selection.h) as over the network.
#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "core/status_macros.h"
#include "gtest/gtest.h"
#include "models/scores/multivariable_pipeline.h"
#include "models/scores/selection_driver.h"
#include "models/scores/selection_site.h"
#include "models/scores/stratified_folds.h"
#include "protocol/wire/model_selection.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/variables.h"

namespace scancov::scores {
namespace {

using wire::CheckAnswer;
using wire::KindName;
using wire::ModelResultsFromJson;
using wire::ModelResultsToJson;
using wire::MomentsFromJson;
using wire::MomentsToJson;
using wire::ParseSelectionSpec;
using wire::RequestFromTensors;
using wire::RequestToTensors;
using wire::SelectionShape;
using wire::SelectionSpec;

struct FederatedRun {
  FederatedSelection selection;
  int rounds = 0;
};

// One round: every site answers the request, through the wire format.
absl::Status Round(SelectionDriver& driver, const std::vector<SelectionSite>& sites) {
  const SelectionRequest& request = driver.request();
  const protocol::TensorSet checkpoint = RequestToTensors(request);
  const SelectionShape shape{sites[0].num_parts(), sites[0].num_columns()};
  const absl::StatusOr<SelectionRequest> received = request.kind == SelectionRequest::Kind::kSums
                                                        ? SelectionRequest{}
                                                        : RequestFromTensors(&checkpoint, shape);
  if (!received.ok()) return received.status();
  const std::string kind = KindName(received->kind);
  if (received->kind == SelectionRequest::Kind::kFits) {
    std::vector<std::vector<ModelSiteResult>> answers;
    for (const SelectionSite& site : sites) {
      absl::StatusOr<std::vector<ModelSiteResult>> a =
          site.Evaluate(received->parts, received->models);
      if (!a.ok()) return a.status();
      const nlohmann::json answer = {{"kind", kind}, {"models", ModelResultsToJson(*a)}};
      // Every genuine answer passes the aggregator's upload check.
      SCV_RETURN_IF_ERROR(CheckAnswer(nlohmann::json::parse(answer.dump()), *received, shape));
      absl::StatusOr<std::vector<ModelSiteResult>> back =
          ModelResultsFromJson(nlohmann::json::parse(ModelResultsToJson(*a).dump()));
      if (!back.ok()) return back.status();
      answers.push_back(*back);
    }
    absl::StatusOr<std::vector<ModelSiteResult>> pooled = PoolModelResults(answers);
    if (!pooled.ok()) return pooled.status();
    return driver.AddFits(*pooled);
  }
  std::vector<std::vector<PartMoments>> answers;
  for (const SelectionSite& site : sites) {
    std::vector<PartMoments> m;
    if (received->kind == SelectionRequest::Kind::kSums) {
      m = site.Sums();
    } else {
      std::vector<Eigen::VectorXd> means;
      for (const Standardization& s : received->parts) means.push_back(s.means);
      absl::StatusOr<std::vector<PartMoments>> squares = site.Squares(means);
      if (!squares.ok()) return squares.status();
      m = *squares;
    }
    const nlohmann::json answer = {{"kind", kind}, {"moments", MomentsToJson(m)}};
    SCV_RETURN_IF_ERROR(CheckAnswer(nlohmann::json::parse(answer.dump()), *received, shape));
    absl::StatusOr<std::vector<PartMoments>> back =
        MomentsFromJson(nlohmann::json::parse(MomentsToJson(m).dump()));
    if (!back.ok()) return back.status();
    answers.push_back(*back);
  }
  absl::StatusOr<std::vector<PartMoments>> pooled = PoolMoments(answers);
  if (!pooled.ok()) return pooled.status();
  return request.kind == SelectionRequest::Kind::kSums ? driver.AddSums(*pooled)
                                                       : driver.AddSquares(*pooled);
}

absl::StatusOr<FederatedRun> RunFederated(const std::vector<TrainingTable>& tables,
                                          const PipelineOptions& options) {
  std::vector<SelectionSite> sites;
  for (const TrainingTable& t : tables) {
    absl::StatusOr<SelectionSite> site = SelectionSite::Create(t, options);
    if (!site.ok()) return site.status();
    sites.push_back(std::move(*site));
  }
  absl::StatusOr<SelectionDriver> driver = SelectionDriver::Create(tables[0].variables, options);
  if (!driver.ok()) return driver.status();
  FederatedRun run;
  while (!driver->done() && run.rounds < 500) {
    const absl::Status s = Round(*driver, sites);
    if (!s.ok()) return s;
    ++run.rounds;
  }
  absl::StatusOr<FederatedSelection> result = driver->Result();
  if (!result.ok()) return result.status();
  run.selection = *result;
  return run;
}

// The synthetic KB site with a few admission variables (one of them sparse), outcome severe.
TrainingTable KbTable(uint64_t seed, const std::vector<std::string>& names) {
  const sites::SyntheticSite site = sites::GenerateSite(*sites::NamedSiteProfile("kb"), seed);
  std::vector<std::string> all;
  for (const sites::VariableSpec& v : sites::AdmissionVariables()) all.push_back(v.name);
  TrainingTable table;
  table.variables = names;
  table.values.resize(static_cast<Eigen::Index>(site.patients.size()),
                      static_cast<Eigen::Index>(names.size()));
  table.outcome.resize(static_cast<Eigen::Index>(site.patients.size()));
  for (size_t i = 0; i < site.patients.size(); ++i) {
    for (size_t j = 0; j < names.size(); ++j) {
      const size_t c = std::find(all.begin(), all.end(), names[j]) - all.begin();
      table.values(i, j) = site.patients[i].observed[c];
    }
    table.outcome[i] = site.patients[i].outcomes.severe ? 1.0 : 0.0;
  }
  return table;
}

PipelineOptions Options() {
  PipelineOptions options;
  options.penalty_grid = LogGrid(0.01, 100.0, 5);
  options.seed = 11;
  return options;
}

void ExpectSameAsPooled(const TrainingTable& table, const PipelineOptions& options) {
  const absl::StatusOr<MultivariableModel> pooled = FitMultivariableModel(table, options);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  const absl::StatusOr<FederatedRun> run = RunFederated({table}, options);
  ASSERT_TRUE(run.ok()) << run.status();
  const FederatedSelection& f = run->selection;
  EXPECT_EQ(f.variables, pooled->variables());
  ASSERT_EQ(f.path.size(), pooled->path().size());
  for (size_t i = 0; i < f.path.size(); ++i) {
    EXPECT_EQ(f.path[i].variable, pooled->path()[i].variable);
    EXPECT_NEAR(f.path[i].mean_auc, pooled->path()[i].mean_auc, 1e-12) << i;
    EXPECT_EQ(f.path[i].penalty, pooled->path()[i].penalty) << i;
  }
  ASSERT_EQ(f.rejected.has_value(), pooled->rejected().has_value());
  if (f.rejected) {
    EXPECT_EQ(f.rejected->variable, pooled->rejected()->variable);
    EXPECT_NEAR(f.rejected->mean_auc, pooled->rejected()->mean_auc, 1e-12);
  }
  EXPECT_EQ(f.dropped_sparse, pooled->dropped_sparse());
  EXPECT_EQ(f.dropped_constant, pooled->dropped_constant());
  EXPECT_EQ(f.penalty, pooled->penalty());
  EXPECT_NEAR(f.cv_auc, pooled->cv_auc(), 1e-12);
  EXPECT_NEAR(f.intercept, pooled->intercept(), 1e-9);
  ASSERT_EQ(f.coefficients.size(), pooled->coefficients().size());
  for (Eigen::Index j = 0; j < f.coefficients.size(); ++j) {
    EXPECT_NEAR(f.coefficients[j], pooled->coefficients()[j], 1e-9) << f.variables[j];
    EXPECT_NEAR(f.standardization.means[j], pooled->standardization().means[j], 1e-9);
    EXPECT_NEAR(f.standardization.scales[j], pooled->standardization().scales[j], 1e-9);
  }
  EXPECT_EQ(f.num_observations, table.values.rows());
  std::printf("  %zu steps, %d rounds\n", f.path.size(), run->rounds);
}

const std::vector<std::string> kKbVariables = {"age",   "sex",      "spo2",     "procalcitonin",
                                               "bmi",   "ldh",      "urea",     "crp",
                                               "cough", "headache", "platelets"};

TEST(FederatedSelectionTest, OneSiteIsThePooledPipeline) {
  ExpectSameAsPooled(KbTable(42, kKbVariables), Options());
}

TEST(FederatedSelectionTest, OneSiteWithInitialVariablesIsThePooledPipeline) {
  PipelineOptions options = Options();
  options.initial_variables = {"ldh", "age"};
  options.max_variables = 4;
  options.seed = 5;
  ExpectSameAsPooled(KbTable(43, kKbVariables), options);
}

// Ten standard normal variables; only x1, x2, x3 carry signal (log ORs 1.2, -1.0, 0.8).
TrainingTable SignalTable(uint64_t seed, int n, double shift) {
  Random random(seed);
  TrainingTable table;
  for (int j = 1; j <= 10; ++j) table.variables.push_back(absl::StrCat("x", j));
  table.values.resize(n, 10);
  table.outcome.resize(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 10; ++j) table.values(i, j) = random.Normal();
    if (random.Uniform() < 0.1) table.values(i, 5) = std::nan("");  // some missing values
    const double eta = -0.5 + shift + 1.2 * table.values(i, 0) - 1.0 * table.values(i, 1) +
                       0.8 * table.values(i, 2);
    table.outcome[i] = random.Uniform() < 1.0 / (1.0 + std::exp(-eta)) ? 1.0 : 0.0;
  }
  return table;
}

TEST(FederatedSelectionTest, ThreeSitesFindTheSignalVariables) {
  PipelineOptions options = Options();
  options.age_variable = "x4";  // stratify by a noise variable's quartiles
  const std::vector<TrainingTable> tables = {SignalTable(1, 500, 0.0), SignalTable(2, 250, 0.5),
                                             SignalTable(3, 300, -0.5)};
  const absl::StatusOr<FederatedRun> run = RunFederated(tables, options);
  ASSERT_TRUE(run.ok()) << run.status();
  const FederatedSelection& f = run->selection;
  EXPECT_EQ(std::set<std::string>(f.variables.begin(), f.variables.end()),
            (std::set<std::string>{"x1", "x2", "x3"}));
  ASSERT_GE(f.path.size(), 1u);
  EXPECT_EQ(f.path[0].variable, "x1");  // the strongest first
  ASSERT_TRUE(f.rejected.has_value());  // the elbow stopped on noise
  EXPECT_EQ(f.num_observations, 1050);
  EXPECT_GT(f.cv_auc, 0.75);

  // The final fit is the exact penalised fit on the union of the sites' rows.
  TrainingTable all;
  all.variables = tables[0].variables;
  all.values.resize(1050, 10);
  all.outcome.resize(1050);
  Eigen::Index row = 0;
  for (const TrainingTable& t : tables) {
    all.values.middleRows(row, t.values.rows()) = t.values;
    all.outcome.segment(row, t.values.rows()) = t.outcome;
    row += t.values.rows();
  }
  Eigen::MatrixXd x(1050, 3);
  for (Eigen::Index j = 0; j < 3; ++j) {
    x.col(j) = all.values.col(std::stoi(f.variables[j].substr(1)) - 1);
  }
  std::vector<int> rows(1050);
  for (int i = 0; i < 1050; ++i) rows[i] = i;
  const absl::StatusOr<Standardization> s = FitStandardization(x, rows);
  ASSERT_TRUE(s.ok()) << s.status();
  const absl::StatusOr<stats::LogisticFit> pooled =
      FitPenalized(ApplyStandardization(*s, x, rows), all.outcome, f.penalty);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_NEAR(f.intercept, pooled->coefficients[0], 1e-6);
  for (Eigen::Index j = 0; j < 3; ++j) {
    EXPECT_NEAR(f.coefficients[j], pooled->coefficients[j + 1], 1e-6) << f.variables[j];
    EXPECT_NEAR(f.standardization.means[j], s->means[j], 1e-9);
    EXPECT_NEAR(f.standardization.scales[j], s->scales[j], 1e-9);
    const double truth = f.variables[j] == "x1" ? 1.2 : f.variables[j] == "x2" ? -1.0 : 0.8;
    EXPECT_GT(f.coefficients[j] * truth, 0.0) << f.variables[j];  // the right direction
  }
}

TEST(FederatedSelectionTest, PairWeightedAucAndPooledSummaries) {
  ModelSiteResult a, b;
  a.summary.beta = b.summary.beta = {0.0, 1.0};
  a.summary.gradient = {1.0, 2.0};
  b.summary.gradient = {0.5, -1.0};
  a.summary.information = b.summary.information = {1.0, 0.0, 0.0, 1.0};
  a.auc = 0.8;
  a.pairs = 10;
  b.auc = 0.6;
  b.pairs = 30;
  const absl::StatusOr<std::vector<ModelSiteResult>> pooled = PoolModelResults({{a}, {b}});
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_NEAR((*pooled)[0].auc, (0.8 * 10 + 0.6 * 30) / 40, 1e-15);  // 0.65
  EXPECT_EQ((*pooled)[0].pairs, 40);
  EXPECT_EQ((*pooled)[0].summary.gradient, (std::vector<double>{1.5, 1.0}));
  b.summary.beta = {0.0, 2.0};  // evaluated elsewhere: refused
  EXPECT_FALSE(PoolModelResults({{a}, {b}}).ok());
}

TEST(FederatedSelectionTest, RequestRoundTripsThroughTensors) {
  SelectionRequest r;
  r.kind = SelectionRequest::Kind::kFits;
  for (int p = 0; p < 3; ++p) {
    r.parts.push_back({Eigen::Vector2d(1.5 + p, -2.0), Eigen::Vector2d(0.25, 3.0 + p)});
  }
  r.models.push_back({0, {1}, {0.1, -0.2}});
  r.models.push_back({2, {1, 0}, {1.0 / 3.0, 2.5, -7.25}});
  const protocol::TensorSet t = RequestToTensors(r);
  const absl::StatusOr<SelectionRequest> back = RequestFromTensors(&t, {3, 2});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, SelectionRequest::Kind::kFits);
  ASSERT_EQ(back->parts.size(), 3u);
  EXPECT_EQ(back->parts[2].means, r.parts[2].means);
  EXPECT_EQ(back->parts[1].scales, r.parts[1].scales);
  ASSERT_EQ(back->models.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->models[i].part, r.models[i].part);
    EXPECT_EQ(back->models[i].columns, r.models[i].columns);
    EXPECT_EQ(back->models[i].beta, r.models[i].beta);
  }
  protocol::TensorSet broken;
  ASSERT_TRUE(broken.Add(protocol::FromDoubles("phase", {1}, protocol::DType::kInt64, {3})).ok());
  EXPECT_FALSE(RequestFromTensors(&broken, {3, 2}).ok());
}

TEST(FederatedSelectionTest, SpecIsBoundedAndChecked) {
  const absl::StatusOr<SelectionSpec> ok = ParseSelectionSpec(
      R"({"analysis": "model_selection", "outcome": "severe", "variables": ["age", "spo2"],
          "penalty_grid": [0.1, 1], "folds": 3, "initial_variables": ["spo2"]})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->options.num_folds, 3);
  EXPECT_EQ(ok->options.penalty_grid.size(), 2u);
  EXPECT_EQ(ok->options.initial_variables, std::vector<std::string>{"spo2"});
  EXPECT_EQ(ok->options.max_variables, 20);
  for (const char* bad : {
           R"({"outcome": "severe"})",
           R"({"outcome": "severe", "variables": ["age", "age"]})",
           R"({"outcome": "severe", "variables": ["age"], "penalty_grid": [0]})",
           R"({"outcome": "severe", "variables": ["age"], "initial_variables": ["ldh"]})",
           R"({"outcome": "severe", "variables": ["age"], "folds": "five"})",
           R"({"variables": ["age"]})",
       }) {
    EXPECT_FALSE(ParseSelectionSpec(bad).ok()) << bad;
  }
  std::string many = R"({"outcome": "severe", "folds": 10, "penalty_grid": [)";
  for (int i = 1; i <= 16; ++i) many += absl::StrCat(i == 1 ? "" : ", ", i);
  many += R"(], "variables": [)";
  for (int i = 0; i < 30; ++i) many += absl::StrCat(i == 0 ? "" : ", ", "\"v", i, "\"");
  many += "]}";
  EXPECT_FALSE(ParseSelectionSpec(many).ok());  // 30 x 16 x 10 models per batch
  std::string names;
  for (int i = 0; i < 40; ++i) names += absl::StrCat(i == 0 ? "" : ", ", "\"v", i, "\"");
  const std::string wide = absl::StrCat(R"({"outcome": "severe", "variables": [)", names, "]");
  // Default grid and folds: 40 candidates up to 20 variables answer ~9 MB at step 19.
  EXPECT_FALSE(ParseSelectionSpec(wide + "}").ok());
  EXPECT_TRUE(ParseSelectionSpec(wide + R"(, "max_variables": 5})").ok());
}

TEST(FederatedSelectionTest, SiteTreatsAVariableWithSmallCountsAsMissing) {
  TrainingTable table = KbTable(42, {"age", "spo2", "ldh"});
  for (Eigen::Index i = 0; i < table.values.rows(); ++i) {
    table.values(i, 2) = i < 3 ? 300.0 + i : std::nan("");  // LDH known for 3 patients only
  }
  const absl::StatusOr<SelectionSite> strict = SelectionSite::Create(table, Options(), 10);
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_EQ(strict->suppressed(), std::vector<std::string>{"ldh"});
  for (const PartMoments& m : strict->Sums()) {
    EXPECT_EQ(m.observed[2], 0);
    EXPECT_EQ(m.sums[2], 0.0);
    EXPECT_GT(m.observed[0], 0);
  }
  const absl::StatusOr<SelectionSite> lax = SelectionSite::Create(table, Options(), 0);
  ASSERT_TRUE(lax.ok());
  EXPECT_TRUE(lax->suppressed().empty());
  EXPECT_EQ(lax->Sums().back().observed[2], 3);
}

TEST(FederatedSelectionTest, SiteRefusesMalformedRequests) {
  const TrainingTable table = KbTable(42, {"age", "spo2"});
  const absl::StatusOr<SelectionSite> site = SelectionSite::Create(table, Options());
  ASSERT_TRUE(site.ok()) << site.status();
  std::vector<Standardization> parts(6, {Eigen::Vector2d(60, 95), Eigen::Vector2d(15, 3)});
  EXPECT_FALSE(site->Evaluate(parts, {{0, {2}, {0, 0}}}).ok());       // no such column
  EXPECT_FALSE(site->Evaluate(parts, {{6, {0}, {0, 0}}}).ok());       // no such part
  EXPECT_FALSE(site->Evaluate(parts, {{0, {0}, {0}}}).ok());          // beta too short
  EXPECT_FALSE(site->Evaluate({parts[0]}, {{0, {0}, {0, 0}}}).ok());  // parts missing
  EXPECT_TRUE(site->Evaluate(parts, {{0, {0, 1}, {0, 0, 0}}}).ok());
}

// Review finding 3 and the ParseOptions item: a field of the wrong type, or a number that does
// not fit its integer, is refused with the field named, never thrown or cast out of range.
TEST(FederatedSelectionTest, SpecFieldsOfTheWrongTypeAreRefusedNotThrown) {
  const std::string base = R"({"variables": ["age"], )";
  for (const std::string field : {
           R"("outcome": 5)",
           R"("outcome": "severe", "folds": 1e300)",
           R"("outcome": "severe", "folds": 2.5)",
           R"("outcome": "severe", "folds": 18446744073709551615)",
           R"("outcome": "severe", "age_bins": -1)",
           R"("outcome": "severe", "max_variables": 1e300)",
           R"("outcome": "severe", "min_observed": "many")",
           R"("outcome": "severe", "min_cell_count": -1)",
           R"("outcome": "severe", "min_cell_count": 1e300)",
           R"("outcome": "severe", "min_cell_count": "ten")",
           R"("outcome": "severe", "seed": 1.5)",
           R"("outcome": "severe", "age_variable": 3)",
           R"("outcome": "severe", "min_auc_gain": "none")",
           R"("outcome": "severe", "min_auc_gain": 2)",
       }) {
    absl::StatusOr<SelectionSpec> spec;
    EXPECT_NO_THROW(spec = ParseSelectionSpec(base + field + "}")) << field;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << field;
  }
  const absl::StatusOr<SelectionSpec> ok = ParseSelectionSpec(
      base + R"("outcome": "severe", "min_cell_count": 12, "seed": 18446744073709551615})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->min_cell_count, 12);
  EXPECT_EQ(ok->options.seed, 18446744073709551615u);
}

// A fits request of 3 parts x 2 variables with two models, as tensors a test can break one by one.
protocol::TensorSet FitsCheckpoint() {
  SelectionRequest r;
  r.kind = SelectionRequest::Kind::kFits;
  for (int p = 0; p < 3; ++p) r.parts.push_back({Eigen::Vector2d(1, 2), Eigen::Vector2d(1, 1)});
  r.models.push_back({0, {1}, {0.1, -0.2}});
  r.models.push_back({2, {0, 1}, {0.0, 0.5, 0.5}});
  return RequestToTensors(r);
}

protocol::TensorSet Replaced(const protocol::TensorSet& set, protocol::Tensor replacement) {
  protocol::TensorSet out;
  for (const protocol::Tensor& t : set.tensors()) {
    EXPECT_TRUE(out.Add(t.name == replacement.name ? replacement : t).ok()) << t.name;
  }
  return out;
}

// Review finding 7: checked against the study's shape before anything is allocated from the
// tensors' shapes, every value range-checked before a cast.
TEST(FederatedSelectionTest, RequestThatDoesNotFitTheStudyIsRefusedBeforeAllocating) {
  using protocol::DType;
  using protocol::FromDoubles;
  const SelectionShape shape{3, 2};
  const protocol::TensorSet good = FitsCheckpoint();
  ASSERT_TRUE(RequestFromTensors(&good, shape).ok());
  EXPECT_FALSE(RequestFromTensors(&good, {4, 2}).ok());  // other folds
  EXPECT_FALSE(RequestFromTensors(&good, {3, 3}).ok());  // other variables
  const std::vector<protocol::Tensor> broken = {
      FromDoubles("part_means", {int64_t{1} << 62, 0}, DType::kFloat64, {}),  // 2^62 rows
      FromDoubles("part_scales", {int64_t{1} << 62, 0}, DType::kFloat64, {}),
      FromDoubles("phase", {1}, DType::kFloat64, {std::nan("")}),
      FromDoubles("phase", {1}, DType::kInt64, {7}),
      FromDoubles("model_part", {2}, DType::kFloat64, {0, 2}),
      FromDoubles("model_part", {2}, DType::kInt64, {0, 3}),               // part 3 of 3
      FromDoubles("model_part", {2}, DType::kInt64, {-1, 2}),              // negative
      FromDoubles("model_part", {2}, DType::kInt64, {0, 4e18}),            // beyond int
      FromDoubles("model_columns", {2, 2}, DType::kInt64, {1, -1, 0, 2}),  // column 2 of 2
      FromDoubles("model_columns", {2, 2}, DType::kInt64, {1, -1, 0, 9e18}),
      FromDoubles("model_columns", {2, 3}, DType::kInt64, {1, -1, -1, 0, 1, -1}),  // wider
      FromDoubles("model_columns", {int64_t{1} << 62, 0}, DType::kInt64, {}),
      FromDoubles("model_beta", {2, 3}, DType::kFloat64, {0, 0, 0, 0, std::nan(""), 0}),
      FromDoubles("part_scales", {3, 2}, DType::kFloat64, {1, 1, 1, -1, 1, 1}),
      FromDoubles("part_means", {3, 2}, DType::kFloat64, {1, 1, 1, INFINITY, 1, 1}),
  };
  for (const protocol::Tensor& t : broken) {
    const protocol::TensorSet set = Replaced(good, t);
    absl::StatusOr<SelectionRequest> r;
    EXPECT_NO_THROW(r = RequestFromTensors(&set, shape)) << t.name;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << t.name << " " << protocol::ShapeString(t.shape);
  }
  // More models than a batch may hold: 4097 models of one column.
  const size_t m = 4097;
  protocol::TensorSet many;
  ASSERT_TRUE(many.Add(FromDoubles("phase", {1}, DType::kInt64, {3})).ok());
  ASSERT_TRUE(
      many.Add(FromDoubles("part_means", {3, 2}, DType::kFloat64, std::vector<double>(6, 0))).ok());
  ASSERT_TRUE(
      many.Add(FromDoubles("part_scales", {3, 2}, DType::kFloat64, std::vector<double>(6, 1)))
          .ok());
  ASSERT_TRUE(
      many.Add(FromDoubles("model_part", {int64_t(m)}, DType::kInt64, std::vector<double>(m, 0)))
          .ok());
  ASSERT_TRUE(many.Add(FromDoubles("model_columns", {int64_t(m), 1}, DType::kInt64,
                                   std::vector<double>(m, 0)))
                  .ok());
  ASSERT_TRUE(many.Add(FromDoubles("model_beta", {int64_t(m), 2}, DType::kFloat64,
                                   std::vector<double>(2 * m, 0)))
                  .ok());
  EXPECT_FALSE(RequestFromTensors(&many, shape).ok());
}

// A genuine answer of each kind from a site, as JSON.
struct Answers {
  SelectionRequest squares, fits;
  nlohmann::json sums_answer, squares_answer, fits_answer;
};

Answers SiteAnswers(const SelectionSite& site) {
  Answers a;
  const int k = site.num_columns();
  for (int p = 0; p < site.num_parts(); ++p) {
    a.squares.parts.push_back({Eigen::VectorXd::Constant(k, 1.0), Eigen::VectorXd::Ones(k)});
  }
  a.squares.kind = SelectionRequest::Kind::kSquares;
  a.fits = a.squares;
  a.fits.kind = SelectionRequest::Kind::kFits;
  a.fits.models = {{0, {1}, {0.1, -0.2}}, {site.num_parts() - 1, {0, 1}, {0.0, 0.01, 0.2}}};
  a.sums_answer = {{"kind", "sums"}, {"moments", MomentsToJson(site.Sums())}};
  std::vector<Eigen::VectorXd> means;
  for (const Standardization& s : a.squares.parts) means.push_back(s.means);
  a.squares_answer = {{"kind", "squares"}, {"moments", MomentsToJson(*site.Squares(means))}};
  a.fits_answer = {{"kind", "fits"},
                   {"models", ModelResultsToJson(*site.Evaluate(a.fits.parts, a.fits.models))}};
  return a;
}

// Review finding 8: what CloseRound and the driver rely on is checked at upload, field named.
TEST(FederatedSelectionTest, AnswerIsCheckedAgainstTheRequest) {
  const absl::StatusOr<SelectionSite> site =
      SelectionSite::Create(KbTable(42, {"age", "spo2"}), Options());
  ASSERT_TRUE(site.ok()) << site.status();
  const SelectionShape shape{site->num_parts(), 2};
  const Answers a = SiteAnswers(*site);
  ASSERT_TRUE(CheckAnswer(a.sums_answer, SelectionRequest{}, shape).ok());
  ASSERT_TRUE(CheckAnswer(a.squares_answer, a.squares, shape).ok());
  const absl::Status fits_ok = CheckAnswer(a.fits_answer, a.fits, shape);
  ASSERT_TRUE(fits_ok.ok()) << fits_ok;
  ASSERT_GT(a.fits_answer["models"][0]["pairs"].get<double>(), 0.0);

  struct Case {
    const char* what;
    const nlohmann::json* answer;
    const SelectionRequest* request;
    std::function<void(nlohmann::json&)> edit;
  };
  const SelectionRequest sums;
  const std::vector<Case> cases = {
      {"kind", &a.sums_answer, &sums, [](auto& j) { j["kind"] = "fits"; }},
      {"kind type", &a.sums_answer, &sums, [](auto& j) { j["kind"] = 2; }},
      {"moments", &a.sums_answer, &sums, [](auto& j) { j.erase("moments"); }},
      {"parts", &a.sums_answer, &sums, [](auto& j) { j["moments"].erase(0); }},
      {"width", &a.sums_answer, &sums, [](auto& j) { j["moments"][1]["observed"].push_back(1); }},
      {"rows", &a.sums_answer, &sums, [](auto& j) { j["moments"][0]["rows"] = -1; }},
      {"rows float", &a.sums_answer, &sums, [](auto& j) { j["moments"][0]["rows"] = 1e300; }},
      {"observed", &a.sums_answer, &sums, [](auto& j) { j["moments"][2]["observed"][0] = 1e6; }},
      {"observed < 0", &a.sums_answer, &sums, [](auto& j) { j["moments"][2]["observed"][1] = -3; }},
      {"sums", &a.sums_answer, &sums, [](auto& j) { j["moments"][0]["sums"][0] = "x"; }},
      {"squares < 0", &a.squares_answer, &a.squares,
       [](auto& j) { j["moments"][0]["sums"][0] = -1.0; }},
      {"models", &a.fits_answer, &a.fits, [](auto& j) { j["models"].erase(1); }},
      {"beta", &a.fits_answer, &a.fits, [](auto& j) { j["models"][0]["summary"]["beta"][1] = 9; }},
      {"gradient", &a.fits_answer, &a.fits,
       [](auto& j) { j["models"][0]["summary"]["gradient"].push_back(0.0); }},
      {"information", &a.fits_answer, &a.fits,
       [](auto& j) { j["models"][1]["summary"]["information"].erase(0); }},
      {"events", &a.fits_answer, &a.fits,
       [](auto& j) { j["models"][0]["summary"]["num_events"] = 1e9; }},
      {"observations", &a.fits_answer, &a.fits,
       [](auto& j) { j["models"][0]["summary"]["num_observations"] = -1; }},
      {"log-likelihood", &a.fits_answer, &a.fits,
       [](auto& j) { j["models"][0]["summary"]["log_likelihood"] = 3.0; }},
      {"auc > 1", &a.fits_answer, &a.fits, [](auto& j) { j["models"][0]["auc"] = 1.5; }},
      {"auc < 0", &a.fits_answer, &a.fits, [](auto& j) { j["models"][0]["auc"] = -0.1; }},
      {"pairs < 0", &a.fits_answer, &a.fits, [](auto& j) { j["models"][0]["pairs"] = -4; }},
      {"pairs 2.5", &a.fits_answer, &a.fits, [](auto& j) { j["models"][0]["pairs"] = 2.5; }},
      {"pairs huge", &a.fits_answer, &a.fits, [](auto& j) { j["models"][0]["pairs"] = 1e300; }},
      {"all-rows pairs", &a.fits_answer, &a.fits, [](auto& j) { j["models"][1]["pairs"] = 6; }},
  };
  for (const Case& c : cases) {
    nlohmann::json j = *c.answer;
    c.edit(j);
    absl::Status s;
    EXPECT_NO_THROW(s = CheckAnswer(j, *c.request, shape)) << c.what;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(s.message().find("result_json"), absl::string_view::npos) << c.what << ": " << s;
  }
}

// Review finding 4: a held-out fold with fewer events or non-events than the minimum cell count
// would release its few patients' ranks (AUC, pairs); the site refuses, although its totals pass.
TEST(FederatedSelectionTest, SiteRefusesWhenAHeldOutFoldIsBelowTheMinimumCount) {
  TrainingTable table = KbTable(42, {"age", "spo2"});
  // Keep 20 events: about 4 per fold.
  int64_t events = 0;
  for (Eigen::Index i = 0; i < table.outcome.size(); ++i) {
    if (table.outcome[i] == 1.0 && ++events > 20) table.outcome[i] = 0.0;
  }
  ASSERT_GT(events, 20);
  const PipelineOptions options = Options();
  // The site's own folds (stratified by age bin and outcome): the fewest events in a fold.
  const Eigen::VectorXd age = table.values.col(0);
  const absl::StatusOr<std::vector<int>> folds = StratifiedFolds(
      std::vector<double>(table.outcome.data(), table.outcome.data() + table.outcome.size()),
      std::vector<double>(age.data(), age.data() + age.size()),
      {options.num_folds, options.num_age_bins, options.seed});
  ASSERT_TRUE(folds.ok()) << folds.status();
  std::vector<int64_t> fold_events(options.num_folds, 0);
  for (size_t i = 0; i < folds->size(); ++i) fold_events[(*folds)[i]] += table.outcome[i] == 1.0;
  const int64_t fewest = *std::min_element(fold_events.begin(), fold_events.end());
  ASSERT_GE(fewest, 1);
  ASSERT_LT(fewest, 20);  // the site's 20 events pass a minimum of fewest + 1
  const absl::StatusOr<SelectionSite> strict = SelectionSite::Create(table, options, fewest + 1);
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kFailedPrecondition) << strict.status();
  EXPECT_NE(strict.status().message().find("held-out fold"), absl::string_view::npos);
  const absl::StatusOr<SelectionSite> enough = SelectionSite::Create(table, options, fewest);
  EXPECT_TRUE(enough.ok()) << enough.status();
}

}  // namespace
}  // namespace scancov::scores
