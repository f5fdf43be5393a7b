#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/env.h"
#include "gtest/gtest.h"
#include "node/tasks/registry.h"
#include "node/tasks/task_host.h"

namespace scancov::node {
namespace {

using nlohmann::json;

// age ~ strongly associated; cancer rare at this site; ggo categorical 0/1/2.
class FakeSource : public DatasetSource {
 public:
  absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                   const std::string& outcome) override {
    asked.insert(asked.end(), variables.begin(), variables.end());
    Random rng(3);
    TabularRows rows;
    rows.columns = variables;
    for (int i = 0; i < 400; ++i) {
      const double age = rng.Normal(60, 15);
      const double ggo = i % 3;
      const double y = rng.Uniform() < 1 / (1 + std::exp(-(age - 60) / 10)) ? 1 : 0;
      rows.keys.push_back("k" + std::to_string(i));
      for (const std::string& v : variables) {
        if (v == "age")
          rows.x.push_back(age);
        else if (v == "cancer")
          rows.x.push_back(i < 5 ? 1 : 0);  // 5 patients with cancer
        else if (v == "ggo")
          rows.x.push_back(ggo);
        else
          rows.x.push_back(i % 2 ? NAN : rng.Normal(0, 1));
      }
      rows.y.push_back(y);
    }
    return rows;
  }
  std::vector<std::string> asked;  // every variable any Load asked for
};

// The site's analyses behind the node's gate, as scancov-node runs them.
class GatedRunner {
 public:
  GatedRunner(DatasetSource* source, privacy::ReleasePolicy policy) {
    NodeResources resources;
    resources.context.site_id = "kb";
    resources.context.policy = std::move(policy);
    resources.context.tabular = source;
    host_ = std::make_unique<TaskHost>(resources,
                                       std::initializer_list<TaskPluginMaker>{&MakePlainTasks});
  }
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet* global) {
    absl::StatusOr<Release> release = host_->gate().Run(task, global);
    if (!release.ok()) return release.status();
    TaskOutcome out;
    out.num_samples = release->header.num_samples();
    out.metrics.insert(release->header.metrics().begin(), release->header.metrics().end());
    out.result_json = release->header.result_json();
    out.weights = std::move(release->weights);
    return out;
  }

 private:
  std::unique_ptr<TaskHost> host_;
};

v1::Task Task(const std::string& spec) {
  v1::Task t;
  t.set_kind(v1::TASK_KIND_ANALYZE);
  t.set_spec_json(spec);
  return t;
}

std::map<std::string, json> Terms(const TaskOutcome& out) {
  std::map<std::string, json> terms;
  const json parsed = json::parse(out.result_json);  // keep it alive while iterating
  for (const json& t : parsed.at("terms")) terms[t.at("term").get<std::string>()] = t;
  return terms;
}

TEST(UnivariateAssociationTaskTest, ReportsAggregatesAndRefusesSmallCells) {
  FakeSource source;
  GatedRunner runner(&source, {});
  auto out = runner.Run(Task(R"({"analysis": "univariate_association", "outcome": "severe",
                                 "variables": ["age", "cancer", "ggo", "crp", "nonsense"]})"),
                        nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->num_samples, 400u);
  EXPECT_FALSE(out->weights.has_value());
  auto terms = Terms(*out);
  ASSERT_EQ(terms.size(), 6u) << out->result_json;
  ASSERT_EQ(terms.at("age").at("status"), "ok");
  EXPECT_GT(terms.at("age").at("or").get<double>(), 2.0);  // per SD of 15 years, slope 1/10
  EXPECT_LT(terms.at("age").at("p").get<double>(), 1e-6);
  EXPECT_EQ(terms.at("cancer").at("status"), "refused");
  EXPECT_EQ(terms.at("ggo=1").at("status"), "ok");  // one term per level against level 0
  EXPECT_EQ(terms.at("ggo=2").at("status"), "ok");
  EXPECT_EQ(terms.at("crp").at("n").get<int>(), 200);  // complete cases only
  EXPECT_EQ(terms.at("nonsense").at("status"), "failed");
  // Only aggregates: no per-patient keys anywhere in what would leave.
  EXPECT_EQ(out->result_json.find("k1"), std::string::npos);
}

TEST(UnivariateAssociationTaskTest, StudyCannotLoosenTheSitePolicy) {
  FakeSource source;
  privacy::ReleasePolicy policy;
  policy.min_cell_count = 10;
  GatedRunner runner(&source, policy);
  auto out = runner.Run(Task(R"({"analysis": "univariate_association", "outcome": "severe",
                                 "variables": ["cancer"], "min_cell_count": 1})"),
                        nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Terms(*out).at("cancer").at("status"), "refused");
  EXPECT_EQ(json::parse(out->result_json).at("min_cell_count"), 10);
  // A stricter study request is honoured.
  auto strict = runner.Run(Task(R"({"analysis": "univariate_association", "outcome": "severe",
                                    "variables": ["age"], "min_cell_count": 1000})"),
                           nullptr);
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(Terms(*strict).at("age").at("status"), "refused");
  // Disallowed variables never leave.
  policy.allowed_variables = {"ggo"};
  source.asked.clear();
  GatedRunner narrow(&source, policy);
  auto out2 = narrow.Run(Task(R"({"analysis": "univariate_association", "outcome": "severe",
                                  "variables": ["age"]})"),
                         nullptr);
  ASSERT_TRUE(out2.ok());
  EXPECT_EQ(Terms(*out2).at("age").at("reason"), "not in the site's allowed variables");
  EXPECT_EQ(Terms(*out2).at("age").count("or"), 0u);
  EXPECT_EQ(Terms(*out2).at("age").at("status"), "refused");
  EXPECT_TRUE(source.asked.empty());  // a kept-back variable is not even read
}

// A logistic regression on a variable the site's policy keeps back: the site answers "refused",
// naming the variable, and sends nothing else; on released variables it takes part.
TEST(UnivariateAssociationTaskTest, LogisticRegressionOnAVariableTheSiteKeepsBack) {
  FakeSource source;
  privacy::ReleasePolicy policy;
  policy.allowed_variables = {"age"};
  GatedRunner runner(&source, policy);
  auto refused = runner.Run(Task(R"({"analysis": "logistic_regression", "outcome": "severe",
                                     "features": ["age", "ggo"]})"),
                            nullptr);
  ASSERT_TRUE(refused.ok()) << refused.status();
  const json r = json::parse(refused->result_json);
  EXPECT_EQ(r.at("status"), "refused");
  EXPECT_EQ(r.at("reason"), "variable ggo is not released by this site");
  EXPECT_FALSE(r.contains("summary"));
  EXPECT_EQ(refused->num_samples, 0u);
  auto taken = runner.Run(Task(R"({"analysis": "logistic_regression", "outcome": "severe",
                                   "features": ["age"]})"),
                          nullptr);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(json::parse(taken->result_json).at("status"), "ok");
}

TEST(UnivariateAssociationTaskTest, RefusesBadSpecs) {
  FakeSource source;
  GatedRunner runner(&source, {});
  EXPECT_FALSE(runner.Run(Task(R"({"analysis": "magic", "outcome": "severe"})"), nullptr).ok());
  EXPECT_FALSE(
      runner.Run(Task(R"({"analysis": "univariate_association", "outcome": "nope"})"), nullptr)
          .ok());
}

}  // namespace
}  // namespace scancov::node
