// The model_selection logic under secure aggregation: what an upload may be, and a whole
// selection closed round after round from the fixed-point sums of the sites' vectors equals the
// selection closed from the sites' answers in clear.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "aggregator/server/study_logic.h"
#include "aggregator/studies/registry.h"
#include "aggregator/studies/secure_upload_rules_test_util.h"
#include "core/status_macros.h"
#include "models/scores/selection_site.h"
#include "protocol/wire/model_selection.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;
using scores::SelectionRequest;
using ::testing::HasSubstr;

constexpr char kSecure[] = R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 28}})";
constexpr int kFractionalBits = 28;  // as CreateStudy asks for the fits' tolerance 1e-8

wire::SelectionSpec Selection() {
  wire::SelectionSpec s;
  s.outcome = "severe";
  s.variables = {"a", "b", "c", "d"};
  s.options.penalty_grid = {0.1, 10};
  s.options.num_folds = 3;
  s.options.min_observed = 100;
  s.options.min_auc_gain = 0.002;
  return s;
}

v1::StudySpec Spec(const std::string& privacy_json) {
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  spec.set_study_kind("model_selection");
  spec.set_spec_json(wire::ToJson(Selection()));
  spec.set_privacy_json(privacy_json);
  return spec;
}

// A site's rows, deterministic (no generator to depend on): a and b carry the outcome, c and d
// do not; b is missing in every 13th row.
scores::TrainingTable Table(int n, double phase) {
  scores::TrainingTable t;
  t.variables = Selection().variables;
  t.values.resize(n, 4);
  t.outcome.resize(n);
  for (int i = 0; i < n; ++i) {
    const double a = 2.0 * std::sin(0.7 * i + phase), b = 50.0 + 10.0 * std::cos(1.3 * i + phase);
    t.values(i, 0) = a;
    t.values(i, 1) = i % 13 == 0 ? std::nan("") : b;
    t.values(i, 2) = std::fmod(0.377 * i + phase, 1.0);
    t.values(i, 3) = 3.0 * std::sin(2.9 * i);
    const double p = 1.0 / (1.0 + std::exp(-(0.9 * a + 0.08 * (b - 50.0) - 0.4)));
    t.outcome[i] = std::fmod(0.618034 * i + phase, 1.0) < p ? 1.0 : 0.0;
  }
  return t;
}

double FixedPoint(double v) {
  return std::round(std::ldexp(v, kFractionalBits)) / std::ldexp(1.0, kFractionalBits);
}

absl::StatusOr<wire::SelectionAggregates> Answer(const scores::SelectionSite& site,
                                                 const SelectionRequest& request) {
  wire::SelectionAggregates out;
  out.kind = request.kind;
  if (request.kind == SelectionRequest::Kind::kSums) {
    out.moments = site.Sums();
  } else if (request.kind == SelectionRequest::Kind::kSquares) {
    std::vector<Eigen::VectorXd> means;
    for (const scores::Standardization& s : request.parts) means.push_back(s.means);
    SCV_ASSIGN_OR_RETURN(out.moments, site.Squares(means));
  } else {
    SCV_ASSIGN_OR_RETURN(out.models, site.Evaluate(request.parts, request.models));
  }
  return out;
}

ResultRecord Result(const std::string& site, const wire::SelectionSiteAnswer& answer) {
  ResultRecord r;
  r.site_id = site;
  r.result_json = wire::ToJson(answer);
  return r;
}

wire::SelectionSiteAnswer Refusal() {
  wire::SelectionSiteAnswer refusal;
  refusal.refused = true;
  refusal.reason = "below the minimum";
  return refusal;
}

v1::UploadHeader Header(const wire::SelectionSiteAnswer& a) {
  v1::UploadHeader h;
  h.set_result_json(wire::ToJson(a));
  return h;
}

TEST(SelectionStudyTest, UnderSecureAggregationOnlyAMaskedAnswerWithItsVectorIsAccepted) {
  auto secure = CreateStudyLogic(Spec(kSecure));
  auto plain = CreateStudyLogic(Spec(""));
  ASSERT_TRUE(secure.ok() && plain.ok()) << secure.status() << plain.status();
  TaskRecord task;
  task.site_id = "kb";
  task.kind = v1::TASK_KIND_ANALYZE;
  const wire::SelectionShape shape = wire::ShapeOf(Selection());
  absl::StatusOr<scores::SelectionSite> site =
      scores::SelectionSite::Create(Table(150, 0.1), Selection().options);
  ASSERT_TRUE(site.ok()) << site.status();
  wire::SelectionSiteAnswer answer;
  answer.aggregates = *Answer(*site, SelectionRequest{});
  const protocol::TensorSet vector =
      wire::SecureSumLayout(wire::SelectionSumLength(SelectionRequest{}, shape));
  const v1::UploadHeader in_clear = Header(answer);
  const v1::UploadHeader masked = Header(wire::ClearPart(answer));
  const v1::UploadHeader refusal = Header(Refusal());
  testing::ExpectSecureUploadRules(**secure, **plain, task, {in_clear, masked, refusal, vector});
  // A clear part of another kind than the round asks (squares in the sums round).
  wire::SelectionSiteAnswer squares = wire::ClearPart(answer);
  squares.aggregates.kind = SelectionRequest::Kind::kSquares;
  EXPECT_THAT((*secure)->ValidateResult(task, Header(squares), &vector, nullptr).message(),
              HasSubstr("'kind' must be \"sums\""));
}

struct SelectionRun {
  std::unique_ptr<StudyLogic> logic;
  std::vector<RoundRecord> history;
  std::optional<protocol::TensorSet> input;  // the round's request; none in round 0
  std::optional<RoundOutcome> last;
};

// Every round, each site answers its study's request: in clear to one study, as the fixed-point
// sum of its vector to the other (each study at its own requests, as the federation runs them).
// Both select the same variables and penalty in the same rounds; the final coefficients agree
// to 1e-6 and the CV AUCs to 1e-9 (the sums differ by 2^-28 per site and value).
TEST(SelectionStudyTest, ASelectionClosedFromTheSumsIsTheSelectionClosedFromTheAnswers) {
  auto plain_logic = CreateStudyLogic(Spec(""));
  auto secure_logic = CreateStudyLogic(Spec(kSecure));
  ASSERT_TRUE(plain_logic.ok() && secure_logic.ok());
  SelectionRun plain{std::move(*plain_logic), {}, std::nullopt, std::nullopt};
  SelectionRun secure{std::move(*secure_logic), {}, std::nullopt, std::nullopt};
  const wire::SelectionShape shape = wire::ShapeOf(Selection());
  const std::vector<std::string> ids = {"hegp", "igr", "kb"};
  std::vector<scores::SelectionSite> sites;
  for (auto [n, phase] : {std::pair{260, 0.1}, {170, 0.4}, {220, 0.7}}) {
    absl::StatusOr<scores::SelectionSite> site =
        scores::SelectionSite::Create(Table(n, phase), Selection().options);
    ASSERT_TRUE(site.ok()) << site.status();
    sites.push_back(std::move(*site));
  }
  StudyRecord study;
  study.study_id = "s";
  uint32_t round = 0;
  for (; round < 200; ++round) {
    const protocol::TensorSet* plain_in = plain.input ? &*plain.input : nullptr;
    const protocol::TensorSet* secure_in = secure.input ? &*secure.input : nullptr;
    absl::StatusOr<SelectionRequest> plain_asked = wire::RequestFromTensors(plain_in, shape);
    absl::StatusOr<SelectionRequest> secure_asked = wire::RequestFromTensors(secure_in, shape);
    ASSERT_TRUE(plain_asked.ok() && secure_asked.ok());
    std::vector<ResultRecord> in_clear, masked;
    std::vector<double> sum(wire::SelectionSumLength(*secure_asked, shape), 0.0);
    for (size_t s = 0; s < sites.size(); ++s) {
      wire::SelectionSiteAnswer answer;
      absl::StatusOr<wire::SelectionAggregates> a = Answer(sites[s], *plain_asked);
      ASSERT_TRUE(a.ok()) << a.status();
      answer.aggregates = std::move(*a);
      in_clear.push_back(Result(ids[s], answer));
      a = Answer(sites[s], *secure_asked);
      ASSERT_TRUE(a.ok()) << a.status();
      answer.aggregates = std::move(*a);
      masked.push_back(Result(ids[s], wire::ClearPart(answer)));
      absl::StatusOr<std::vector<double>> v =
          wire::SelectionSumVector(answer.aggregates, *secure_asked, shape);
      ASSERT_TRUE(v.ok()) << v.status();
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += FixedPoint((*v)[i]);
    }
    in_clear.push_back(Result("tiny", Refusal()));
    masked.push_back(Result("tiny", Refusal()));
    if (round == 1) {
      // A later round's sum must come from round 0's sites: two of them do not make it.
      std::vector<ResultRecord> two(masked.begin() + 1, masked.end());
      const absl::Status fewer =
          secure.logic->CloseSecureRound(study, round, secure_in, two, sum, 2, secure.history)
              .status();
      EXPECT_THAT(fewer.message(), HasSubstr("round 0 had [hegp, igr, kb]"));
      // Nor a sum of another number of sites than the clear parts.
      EXPECT_FALSE(
          secure.logic->CloseSecureRound(study, round, secure_in, masked, sum, 2, secure.history)
              .ok());
    }
    absl::StatusOr<RoundOutcome> a =
        plain.logic->CloseRound(study, round, plain_in, in_clear, plain.history);
    absl::StatusOr<RoundOutcome> b = secure.logic->CloseSecureRound(
        study, round, secure_in, masked, sum, sites.size(), secure.history);
    ASSERT_TRUE(a.ok()) << "round " << round << ": " << a.status();
    ASSERT_TRUE(b.ok()) << "round " << round << ": " << b.status();
    ASSERT_EQ(a->study_done, b->study_done) << "round " << round;
    for (auto [run, out] : {std::pair{&plain, &*a}, {&secure, &*b}}) {
      run->history.push_back(RoundRecord{"s", round, "closed", "", 0, 0, 0, {}, out->result_json});
      run->input = out->weights;
      run->last = std::move(*out);
    }
    if (plain.last->study_done) break;
    // The same models asked of the sites, at coefficients that agree closely.
    absl::StatusOr<SelectionRequest> next_plain = wire::RequestFromTensors(&*plain.input, shape);
    absl::StatusOr<SelectionRequest> next_secure = wire::RequestFromTensors(&*secure.input, shape);
    ASSERT_TRUE(next_plain.ok() && next_secure.ok());
    ASSERT_EQ(next_plain->models.size(), next_secure->models.size()) << "round " << round;
    for (size_t m = 0; m < next_plain->models.size(); ++m) {
      ASSERT_EQ(next_plain->models[m].columns, next_secure->models[m].columns);
      for (size_t j = 0; j < next_plain->models[m].beta.size(); ++j) {
        EXPECT_NEAR(next_plain->models[m].beta[j], next_secure->models[m].beta[j], 1e-6);
      }
    }
  }
  ASSERT_TRUE(plain.last && plain.last->study_done) << "no selection in 200 rounds";
  EXPECT_GT(round, 10u);  // sums, squares and batches of Newton rounds
  const auto result = [](const RoundOutcome& out) {
    json j = json::parse(out.result_json);
    j.erase(kReplayKey);
    return wire::ParseSelectionRoundResult(j.dump());
  };
  absl::StatusOr<wire::SelectionRoundResult> x = result(*plain.last);
  absl::StatusOr<wire::SelectionRoundResult> y = result(*secure.last);
  ASSERT_TRUE(x.ok() && y.ok()) << x.status() << y.status();
  ASSERT_TRUE(x->selection && y->selection);
  EXPECT_EQ(x->selection->rounds, y->selection->rounds);
  const scores::FederatedSelection& p = x->selection->selection;
  const scores::FederatedSelection& q = y->selection->selection;
  EXPECT_EQ(p.variables, (std::vector<std::string>{"a", "b"}));  // the two with an effect
  EXPECT_EQ(q.variables, p.variables);
  EXPECT_EQ(q.penalty, p.penalty);
  EXPECT_NEAR(q.intercept, p.intercept, 1e-6);
  ASSERT_EQ(q.coefficients.size(), p.coefficients.size());
  for (Eigen::Index j = 0; j < p.coefficients.size(); ++j) {
    EXPECT_NEAR(q.coefficients[j], p.coefficients[j], 1e-6) << p.variables[j];
    EXPECT_NEAR(q.standardization.means[j], p.standardization.means[j], 1e-9);
    EXPECT_NEAR(q.standardization.scales[j], p.standardization.scales[j], 1e-9);
  }
  EXPECT_NEAR(q.cv_auc, p.cv_auc, 1e-9);
  ASSERT_EQ(q.path.size(), p.path.size());
  for (size_t i = 0; i < p.path.size(); ++i) {
    EXPECT_EQ(q.path[i].variable, p.path[i].variable);
    EXPECT_NEAR(q.path[i].mean_auc, p.path[i].mean_auc, 1e-9);
    EXPECT_EQ(q.path[i].penalty, p.path[i].penalty);
  }
  EXPECT_EQ(y->sites, ids);
  ASSERT_EQ(y->refused.size(), 1u);
  EXPECT_EQ(y->refused[0].site, "tiny");
  EXPECT_TRUE(y->rejected.empty());
}

}  // namespace
}  // namespace scancov::aggregator
