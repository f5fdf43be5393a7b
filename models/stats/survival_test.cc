// Kaplan-Meier, log-rank and their federated forms, on the Gehan / Freireich leukaemia data
// (6-MP group 0, placebo group 1), with rows dealt round-robin to three "sites".
#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "models/stats/kaplan_meier.h"
#include "models/stats/log_rank.h"
#include "models/stats/survival_counts.h"

namespace scancov::stats {
namespace {

// R 4.2.2, survival 3.5.3; the same vectors:
//   time  <- c(6, 6, 6, 7, 10, 13, 16, 22, 23, 6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35,
//              1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23)
//   event <- c(rep(1, 9), rep(0, 12), rep(1, 21))
//   group <- c(rep(0, 21), rep(1, 21)); site <- rep(0:2, 14)
const std::vector<double> kTime = {6,  6,  6,  7,  10, 13, 16, 22, 23, 6,  9,  10, 11, 17,
                                   19, 20, 25, 32, 32, 34, 35, 1,  1,  2,  2,  3,  4,  4,
                                   5,  5,  8,  8,  8,  8,  11, 11, 12, 12, 15, 17, 22, 23};
const std::vector<double> kEvent = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

std::vector<int> Groups() {
  std::vector<int> g(42, 0);
  for (int i = 21; i < 42; ++i) g[i] = 1;
  return g;
}
std::vector<int> Sites() {
  std::vector<int> s(42);
  for (int i = 0; i < 42; ++i) s[i] = i % 3;
  return s;
}

// Rows of one group (and optionally one site).
void Select(int group, int site, std::vector<double>& time, std::vector<double>& event) {
  const std::vector<int> g = Groups();
  for (int i = 0; i < 42; ++i) {
    if (g[i] != group || (site >= 0 && i % 3 != site)) continue;
    time.push_back(kTime[i]);
    event.push_back(kEvent[i]);
  }
}

SurvivalCounts Counts(int group, int site = -1) {
  std::vector<double> time, event;
  Select(group, site, time, event);
  absl::StatusOr<SurvivalCounts> counts = CountSurvival(time, event);
  EXPECT_TRUE(counts.ok()) << counts.status();
  return *counts;
}

void ExpectColumn(const KaplanMeierCurve& curve, double KaplanMeierPoint::*field,
                  const std::vector<double>& expected, double tol) {
  ASSERT_EQ(curve.points.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(curve.points[i].*field)) << i;
    } else {
      EXPECT_NEAR(curve.points[i].*field, expected[i], tol) << i;
    }
  }
}

// Reference: f <- survfit(Surv(time, event) ~ 1, subset = group == 0)
//   f$time; f$n.risk; f$surv; f$std.err; f$lower; f$upper   (conf.type = "log", the default)
//   summary(f)$std.err   (the SE of S at the event times)
TEST(KaplanMeierTest, MatchesRSurvfitWithLogInterval) {
  absl::StatusOr<KaplanMeierCurve> km = KaplanMeier(Counts(0));
  ASSERT_TRUE(km.ok()) << km.status();
  const std::vector<double> times = {6, 7, 9, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 34, 35};
  const std::vector<int64_t> at_risk = {21, 17, 16, 15, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 2, 1};
  ASSERT_EQ(km->points.size(), times.size());
  for (size_t i = 0; i < times.size(); ++i) {
    EXPECT_EQ(km->points[i].time, times[i]);
    EXPECT_EQ(km->points[i].at_risk, at_risk[i]);
  }
  ExpectColumn(*km, &KaplanMeierPoint::survival,
               {0.857142857142857, 0.80672268907563, 0.80672268907563, 0.752941176470588,
                0.752941176470588, 0.690196078431372, 0.627450980392157, 0.627450980392157,
                0.627450980392157, 0.627450980392157, 0.53781512605042, 0.448179271708683,
                0.448179271708683, 0.448179271708683, 0.448179271708683, 0.448179271708683},
               1e-14);
  ExpectColumn(*km, &KaplanMeierPoint::std_err_log,
               {0.0890870806374748, 0.107763530587779, 0.107763530587779, 0.127964382883082,
                0.127964382883082, 0.15475994592402, 0.181773347752949, 0.181773347752949,
                0.181773347752949, 0.181773347752949, 0.238434632054235, 0.300307187886291,
                0.300307187886291, 0.300307187886291, 0.300307187886291, 0.300307187886291},
               1e-14);
  ExpectColumn(*km, &KaplanMeierPoint::ci_lower,
               {0.71981708391627, 0.653124218462171, 0.653124218462171, 0.585918982029694,
                0.585918982029694, 0.50961309910178, 0.439393924968767, 0.439393924968767,
                0.439393924968767, 0.439393924968767, 0.337036616157685, 0.24878822681766,
                0.24878822681766, 0.24878822681766, 0.24878822681766, 0.24878822681766},
               1e-13);
  ExpectColumn(*km, &KaplanMeierPoint::ci_upper,
               {1, 0.996443675908659, 0.996443675908659, 0.967574754552297, 0.967574754552297,
                0.93476919553613, 0.895994938535082, 0.895994938535082, 0.895994938535082,
                0.895994938535082, 0.858200848044665, 0.807372045529077, 0.807372045529077,
                0.807372045529077, 0.807372045529077, 0.807372045529077},
               1e-13);
  // summary(f)$std.err at the event times 6, 7, 10, 13, 16, 22, 23.
  const std::vector<size_t> event_rows = {0, 1, 3, 5, 6, 10, 11};
  const std::vector<double> se = {0.0763603548321213, 0.0869352851800572, 0.0963496529943205,
                                  0.10681470777501,   0.114053865256753,  0.128233751693034,
                                  0.13459145675576};
  for (size_t k = 0; k < se.size(); ++k)
    EXPECT_NEAR(km->points[event_rows[k]].std_err, se[k], 1e-14);
  EXPECT_DOUBLE_EQ(km->SurvivalAt(12.5), 0.752941176470588);
  EXPECT_EQ(km->SurvivalAt(0.5), 1.0);
}

// Reference: the same with conf.type = "log-log" and conf.type = "plain": f$lower; f$upper.
TEST(KaplanMeierTest, LogLogAndPlainIntervalsMatchR) {
  absl::StatusOr<KaplanMeierCurve> ll = KaplanMeier(Counts(0), 0.95, SurvivalInterval::kLogLog);
  ASSERT_TRUE(ll.ok());
  EXPECT_NEAR(ll->points[0].ci_lower, 0.619717955265984, 1e-13);
  EXPECT_NEAR(ll->points[0].ci_upper, 0.951551747646997, 1e-13);
  EXPECT_NEAR(ll->points[10].ci_lower, 0.267778936767135, 1e-13);
  EXPECT_NEAR(ll->points[10].ci_upper, 0.746790717635394, 1e-13);
  EXPECT_NEAR(ll->points[15].ci_lower, 0.188052005959232, 1e-13);
  EXPECT_NEAR(ll->points[15].ci_upper, 0.680142628495241, 1e-13);
  absl::StatusOr<KaplanMeierCurve> plain = KaplanMeier(Counts(0), 0.95, SurvivalInterval::kPlain);
  ASSERT_TRUE(plain.ok());
  EXPECT_NEAR(plain->points[0].ci_lower, 0.7074793118252, 1e-13);
  EXPECT_EQ(plain->points[0].ci_upper, 1.0);
  EXPECT_NEAR(plain->points[5].ci_lower, 0.480843098173183, 1e-13);
  EXPECT_NEAR(plain->points[5].ci_upper, 0.899549058689562, 1e-13);
  EXPECT_NEAR(plain->points[15].ci_lower, 0.184384863840613, 1e-13);
  EXPECT_NEAR(plain->points[15].ci_upper, 0.711973679576754, 1e-13);
}

// Reference: f1 <- survfit(Surv(time, event) ~ 1, subset = group == 1); f1$surv; f1$lower;
// f1$upper. The curve reaches 0 at the end, where R's interval is NA.
TEST(KaplanMeierTest, CurveReachingZeroMatchesR) {
  absl::StatusOr<KaplanMeierCurve> km = KaplanMeier(Counts(1));
  ASSERT_TRUE(km.ok());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ExpectColumn(*km, &KaplanMeierPoint::survival,
               {0.904761904761905, 0.80952380952381, 0.761904761904762, 0.666666666666667,
                0.571428571428571, 0.380952380952381, 0.285714285714286, 0.19047619047619,
                0.142857142857143, 0.0952380952380952, 0.0476190476190476, 0},
               1e-14);
  ExpectColumn(*km, &KaplanMeierPoint::ci_lower,
               {0.787535047532568, 0.657853062407979, 0.599880482213056, 0.492680633676116,
                0.394548121478061, 0.22084536131823, 0.145291270386774, 0.0788701399577345,
                0.0501089839664908, 0.025485828068472, 0.00703222984739559, nan},
               1e-13);
  ExpectColumn(*km, &KaplanMeierPoint::ci_upper,
               {1, 0.996162875319303, 0.967690870807461, 0.902094407746942, 0.827606556639137,
                0.657132736169037, 0.561855181277673, 0.460011598277429, 0.407275535240419,
                0.355895627962789, 0.32245443413442, nan},
               1e-13);
}

// Reference: summary(survfit(Surv(time, event) ~ 1), times = c(0, 5, 10, 20, 30))$n.risk.
TEST(KaplanMeierTest, NumberAtRiskMatchesR) {
  absl::StatusOr<SurvivalCounts> all = CountSurvival(kTime, kEvent);
  ASSERT_TRUE(all.ok());
  const std::vector<int64_t> expected = {42, 35, 23, 10, 4};
  EXPECT_EQ(NumberAtRisk(*all, {0, 5, 10, 20, 30}), expected);
  EXPECT_EQ(all->AtRiskAt(36), 0);
}

// The federated curve: each site sends its counts table, the coordinator merges them.
TEST(KaplanMeierTest, MergedSiteCountsEqualPooledCurve) {
  const std::vector<SurvivalCounts> sites = {Counts(0, 0), Counts(0, 1), Counts(0, 2)};
  absl::StatusOr<SurvivalCounts> merged = MergeSurvivalCounts(sites);
  ASSERT_TRUE(merged.ok()) << merged.status();
  const SurvivalCounts pooled = Counts(0);
  EXPECT_EQ(merged->times, pooled.times);
  EXPECT_EQ(merged->at_risk, pooled.at_risk);
  EXPECT_EQ(merged->events, pooled.events);
  EXPECT_EQ(merged->censored, pooled.censored);
  absl::StatusOr<KaplanMeierCurve> federated = KaplanMeier(*merged);
  absl::StatusOr<KaplanMeierCurve> direct = KaplanMeier(pooled);
  ASSERT_TRUE(federated.ok() && direct.ok());
  for (size_t i = 0; i < direct->points.size(); ++i) {
    EXPECT_EQ(federated->points[i].survival, direct->points[i].survival);
    EXPECT_EQ(federated->points[i].ci_lower, direct->points[i].ci_lower);
  }
}

// Reference: d <- survdiff(Surv(time, event) ~ group); d$chisq; d$obs; d$exp; d$var[1, 1];
// 1 - pchisq(d$chisq, 1)
TEST(LogRankTest, MatchesRSurvdiff) {
  absl::StatusOr<LogRankResult> r = LogRankTest(kTime, kEvent, Groups());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->chi_square, 16.7929409892165, 1e-11);
  EXPECT_EQ(r->observed, (std::vector<double>{9, 21}));
  EXPECT_NEAR(r->expected[0], 19.2505009480311, 1e-12);
  EXPECT_NEAR(r->expected[1], 10.7494990519689, 1e-12);
  EXPECT_NEAR(r->p_value, 4.16880910933948e-05, 1e-15);
  EXPECT_EQ(r->degrees_of_freedom, 1.0);
  absl::StatusOr<LogRankSummary> contribution = LogRankContribution({Counts(0), Counts(1)});
  ASSERT_TRUE(contribution.ok());
  EXPECT_NEAR(contribution->covariance[0], 6.2569605736755, 1e-12);
}

// Reference: ds <- survdiff(Surv(time, event) ~ group + strata(site)); ds$chisq;
// rowSums(ds$obs); rowSums(ds$exp); 1 - pchisq(ds$chisq, 1)
TEST(LogRankTest, StratifiedMatchesRAndEqualsSumOfSiteSummaries) {
  absl::StatusOr<LogRankResult> r = StratifiedLogRankTest(kTime, kEvent, Groups(), Sites());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->chi_square, 13.4606569820828, 1e-11);
  EXPECT_NEAR(r->expected[0], 18.4157453657454, 1e-12);
  EXPECT_NEAR(r->expected[1], 11.5842546342546, 1e-12);
  EXPECT_NEAR(r->p_value, 0.00024361843490317, 1e-14);

  // Federated: every site sends only its O, E and V; the coordinator sums them.
  std::vector<LogRankSummary> site_summaries;
  for (int site = 0; site < 3; ++site) {
    absl::StatusOr<LogRankSummary> s = LogRankContribution({Counts(0, site), Counts(1, site)});
    ASSERT_TRUE(s.ok());
    site_summaries.push_back(*s);
  }
  absl::StatusOr<LogRankResult> federated = LogRankFromSummaries(site_summaries);
  ASSERT_TRUE(federated.ok());
  EXPECT_NEAR(federated->chi_square, r->chi_square, 1e-12);
  EXPECT_NEAR(federated->p_value, r->p_value, 1e-15);

  // The unstratified test from merged site tables equals the pooled one.
  std::vector<SurvivalCounts> merged;
  for (int group = 0; group < 2; ++group) {
    absl::StatusOr<SurvivalCounts> m =
        MergeSurvivalCounts({Counts(group, 0), Counts(group, 1), Counts(group, 2)});
    ASSERT_TRUE(m.ok());
    merged.push_back(*m);
  }
  absl::StatusOr<LogRankSummary> pooled_summary = LogRankContribution(merged);
  ASSERT_TRUE(pooled_summary.ok());
  absl::StatusOr<LogRankResult> pooled = LogRankFromSummaries({*pooled_summary});
  ASSERT_TRUE(pooled.ok());
  EXPECT_NEAR(pooled->chi_square, 16.7929409892165, 1e-11);
}

// Reference: g3 <- c(rep(0, 14), rep(1, 14), rep(2, 14))
//   d3 <- survdiff(Surv(time, event) ~ g3); d3$chisq; d3$obs; d3$exp
//   d3s <- survdiff(Surv(time, event) ~ g3 + strata(site)); d3s$chisq; 1 - pchisq(d3s$chisq, 2)
TEST(LogRankTest, ThreeGroupsMatchR) {
  std::vector<int> g3(42);
  for (int i = 0; i < 42; ++i) g3[i] = i / 14;
  absl::StatusOr<LogRankResult> r = LogRankTest(kTime, kEvent, g3);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->chi_square, 3.19160563966006, 1e-11);
  EXPECT_EQ(r->degrees_of_freedom, 2.0);
  EXPECT_NEAR(r->expected[0], 9.49573274795302, 1e-12);
  EXPECT_NEAR(r->expected[1], 10.5251570099406, 1e-12);
  EXPECT_NEAR(r->expected[2], 9.97911024210637, 1e-12);
  absl::StatusOr<LogRankResult> s = StratifiedLogRankTest(kTime, kEvent, g3, Sites());
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s->chi_square, 2.19680189131475, 1e-11);
  EXPECT_NEAR(s->p_value, 0.333403788448413, 1e-12);
}

TEST(SurvivalCountsTest, BinningCoarsensTimes) {
  absl::StatusOr<SurvivalCounts> weekly = CountSurvival({1, 6, 7, 8, 14.5}, {1, 0, 1, 1, 0}, 7.0);
  ASSERT_TRUE(weekly.ok());
  EXPECT_EQ(weekly->times, (std::vector<double>{7, 14, 21}));
  EXPECT_EQ(weekly->events, (std::vector<int64_t>{2, 1, 0}));
  EXPECT_EQ(weekly->censored, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(weekly->at_risk, (std::vector<int64_t>{5, 2, 1}));
}

// Re-binning a table equals counting the rows at the coarser width, for exact times and for
// times already rounded up to a width that divides the new one.
TEST(SurvivalCountsTest, CoarseningATableEqualsCountingTheRowsCoarser) {
  for (const auto& [from, to] : std::vector<std::pair<double, double>>{
           {0, 7}, {1, 7}, {2, 6}, {3, 6}, {7, 28}, {14, 28}, {1, 1}}) {
    absl::StatusOr<SurvivalCounts> fine = CountSurvival(kTime, kEvent, from);
    ASSERT_TRUE(fine.ok());
    absl::StatusOr<SurvivalCounts> coarsened = CoarsenSurvivalCounts(*fine, to);
    absl::StatusOr<SurvivalCounts> direct = CountSurvival(kTime, kEvent, to);
    ASSERT_TRUE(coarsened.ok() && direct.ok()) << coarsened.status();
    EXPECT_EQ(coarsened->times, direct->times) << from << " -> " << to;
    EXPECT_EQ(coarsened->at_risk, direct->at_risk) << from << " -> " << to;
    EXPECT_EQ(coarsened->events, direct->events) << from << " -> " << to;
    EXPECT_EQ(coarsened->censored, direct->censored) << from << " -> " << to;
  }
  // By hand: times 1, 6, 7, 8, 14.5 in weeks are 7, 7, 7, 14, 21; in four weeks all 28.
  absl::StatusOr<SurvivalCounts> weekly = CountSurvival({1, 6, 7, 8, 14.5}, {1, 0, 1, 1, 0}, 7.0);
  ASSERT_TRUE(weekly.ok());
  absl::StatusOr<SurvivalCounts> monthly = CoarsenSurvivalCounts(*weekly, 28);
  ASSERT_TRUE(monthly.ok());
  EXPECT_EQ(monthly->times, (std::vector<double>{28}));
  EXPECT_EQ(monthly->at_risk, (std::vector<int64_t>{5}));
  EXPECT_EQ(monthly->events, (std::vector<int64_t>{3}));
  EXPECT_EQ(monthly->censored, (std::vector<int64_t>{2}));
  EXPECT_FALSE(CoarsenSurvivalCounts(*weekly, 0).ok());
  EXPECT_FALSE(CoarsenSurvivalCounts(SurvivalCounts{{1}, {2}, {1}, {0}}, 7).ok());
}

TEST(SurvivalCountsTest, CommonBinWidthIsTheLeastCommonMultiple) {
  EXPECT_EQ(*CommonBinWidth({1}, 420), 1);
  EXPECT_EQ(*CommonBinWidth({7, 14, 1}, 420), 14);
  EXPECT_EQ(*CommonBinWidth({2, 3}, 420), 6);
  EXPECT_EQ(*CommonBinWidth({3, 28, 14}, 420), 84);
  EXPECT_EQ(*CommonBinWidth({3, 420}, 420), 420);
  EXPECT_EQ(CommonBinWidth({}, 420).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CommonBinWidth({2.5}, 420).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CommonBinWidth({0}, 420).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CommonBinWidth({421}, 420).status().code(), absl::StatusCode::kInvalidArgument);
  // 13 x 33 = 429: no common grid within 420 days.
  EXPECT_EQ(CommonBinWidth({13, 33}, 420).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SurvivalCountsTest, RejectsBadInput) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(CountSurvival({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountSurvival({1, 2}, {1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountSurvival({1, nan}, {1, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountSurvival({1, -2}, {1, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountSurvival({1, 2}, {1, 2}).status().code(), absl::StatusCode::kInvalidArgument);
  SurvivalCounts inconsistent{{1, 2}, {5, 3}, {1, 1}, {0, 0}};
  EXPECT_EQ(ValidateSurvivalCounts(inconsistent).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MergeSurvivalCounts({inconsistent}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KaplanMeier(SurvivalCounts{}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LogRankTest({1, 2, 3}, {1, 1, 1}, {0, 0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);  // one group
  EXPECT_EQ(LogRankTest({1, 2, 3, 4}, {0, 0, 0, 0}, {0, 1, 0, 1}).status().code(),
            absl::StatusCode::kFailedPrecondition);  // no events
  EXPECT_EQ(LogRankFromSummaries({LogRankSummary{{1, 2}, {1.5, 1.5}, {1, -1, -1}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::stats
