// The statistics on a real cohort: Yan et al. 2020 (Tongji Hospital, Wuhan; 375 patients,
// outcome death), split into three "sites" by patient id modulo 3. Data in
// ../shared/data/yan2020 (see its README): PATIENT_ID only on each patient's first row (filled
// forward); for each patient we take, per column, the first non-empty value in file order.
//
// Reference: R 4.2.2, survival 3.5.3, pROC 1.18.0:
//   d <- read.csv(".../time_series_375_prerpocess_en.csv", check.names = FALSE)
//   for (i in seq_len(nrow(d))) if (is.na(d$PATIENT_ID[i])) d$PATIENT_ID[i] <- d$PATIENT_ID[i-1]
//   first <- function(v) { v <- v[!is.na(v)]; if (length(v)) v[1] else NA }
//   by_patient <- function(col) sapply(split(d[[col]], d$PATIENT_ID), first)
//   pat <- data.frame(id = as.numeric(names(split(d$age, d$PATIENT_ID))),
//     age = by_patient("age"), male = as.numeric(by_patient("gender") == 1),
//     death = by_patient("outcome"), ldh = by_patient("Lactate dehydrogenase"),
//     crp = by_patient("High sensitivity C-reactive protein"),
//     lymph = by_patient("(%)lymphocyte"),
//     days = by_patient("Discharge time") - by_patient("Admission time"))
//   pat$site <- pat$id %% 3
//   cc <- pat[complete.cases(pat[, c("age", "male", "ldh", "crp", "lymph")]), ]
//   ctl <- glm.control(epsilon = 1e-14, maxit = 100)
// and the calls quoted in each test.
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "models/stats/auc.h"
#include "models/stats/kaplan_meier.h"
#include "models/stats/log_rank.h"
#include "models/stats/logistic_newton.h"
#include "models/stats/logistic_regression.h"
#include "models/stats/logistic_site.h"
#include "models/stats/univariate_association.h"

namespace scancov::stats {
namespace {

constexpr char kPath[] = "../shared/data/yan2020/time_series_375_prerpocess_en.csv";
constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

struct Patient {
  double id = kMissing, age = kMissing, male = kMissing, death = kMissing, ldh = kMissing,
         crp = kMissing, lymph = kMissing, admission = kMissing, discharge = kMissing;
  int site() const { return static_cast<int>(id) % 3; }
  double days() const { return discharge - admission; }
  bool complete() const {
    return !std::isnan(age) && !std::isnan(male) && !std::isnan(ldh) && !std::isnan(crp) &&
           !std::isnan(lymph) && !std::isnan(death);
  }
};

// Patients in order of first appearance; empty when the file is absent.
std::vector<Patient> LoadPatients() {
  std::ifstream in(kPath);
  if (!in) return {};
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::vector<std::string> header = absl::StrSplit(line, ',');
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  const std::vector<std::pair<const char*, double Patient::*>> fields = {
      {"age", &Patient::age},
      {"gender", &Patient::male},
      {"outcome", &Patient::death},
      {"Lactate dehydrogenase", &Patient::ldh},
      {"High sensitivity C-reactive protein", &Patient::crp},
      {"(%)lymphocyte", &Patient::lymph},
      {"Admission time", &Patient::admission},
      {"Discharge time", &Patient::discharge}};
  std::vector<Patient> patients;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::vector<std::string> cells = absl::StrSplit(line, ',');
    double id = 0;
    if (!cells[0].empty() && absl::SimpleAtod(cells[0], &id)) {
      patients.emplace_back();
      patients.back().id = id;
    }
    if (patients.empty()) continue;
    Patient& p = patients.back();
    for (const auto& [name, field] : fields) {
      double value = 0;
      const std::string& cell = cells.at(column.at(name));
      if (std::isnan(p.*field) && !cell.empty() && absl::SimpleAtod(cell, &value)) {
        p.*field = value;
      }
    }
  }
  for (Patient& p : patients) p.male = p.male == 1.0 ? 1.0 : 0.0;  // gender: 1 male, 2 female
  return patients;
}

class Yan2020Test : public ::testing::Test {
 protected:
  void SetUp() override {
    patients_ = LoadPatients();
    if (patients_.empty()) GTEST_SKIP() << kPath << " is not available";
    ASSERT_EQ(patients_.size(), 375u);
    for (const Patient& p : patients_) {
      if (p.complete()) complete_.push_back(p);
    }
  }

  static void Design(const std::vector<Patient>& rows, Eigen::MatrixXd& x, Eigen::VectorXd& y) {
    x.resize(rows.size(), 5);
    y.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      x.row(i) << rows[i].age, rows[i].male, rows[i].ldh, rows[i].crp, rows[i].lymph;
      y[i] = rows[i].death;
    }
  }

  std::vector<Patient> patients_;
  std::vector<Patient> complete_;
};

// Reference: f <- glm(death ~ age + male + ldh + crp + lymph, family = binomial, data = cc,
//   control = ctl); coef(summary(f))[, 1:2]        (351 complete cases, 159 deaths)
TEST_F(Yan2020Test, FederatedNewtonEqualsPooledFitAndR) {
  ASSERT_EQ(complete_.size(), 351u);
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Design(complete_, x, y);
  absl::StatusOr<LogisticFit> pooled = FitLogistic(x, y);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_EQ(pooled->num_events, 159);
  const std::vector<double> coef = {-7.85235173049755,   0.0829069582067521, 0.183033144719979,
                                    0.00770411147656185, 0.011569749431703,  -0.118229738057564};
  const std::vector<double> se = {1.49642993211435,    0.0165940528067471,  0.435772752468058,
                                  0.00132014495689518, 0.00389153505536827, 0.0299426804243644};
  for (size_t j = 0; j < coef.size(); ++j) {
    EXPECT_NEAR(pooled->coefficients[j], coef[j], 1e-8 * (1 + std::fabs(coef[j]))) << j;
    EXPECT_NEAR(pooled->standard_errors[j], se[j], 1e-8 * se[j]) << j;
  }

  std::vector<LogisticSiteData> sites;
  for (int s = 0; s < 3; ++s) {
    std::vector<Patient> rows;
    for (const Patient& p : complete_) {
      if (p.site() == s) rows.push_back(p);
    }
    Eigen::MatrixXd xs;
    Eigen::VectorXd ys;
    Design(rows, xs, ys);
    absl::StatusOr<LogisticSiteData> site = LogisticSiteData::Create(xs, ys, {});
    ASSERT_TRUE(site.ok());
    sites.push_back(*std::move(site));
  }
  const LogisticSiteEvaluator evaluate =
      [&sites](absl::Span<const double> beta) -> absl::StatusOr<std::vector<LogisticSiteSummary>> {
    std::vector<LogisticSiteSummary> out;
    for (const LogisticSiteData& site : sites) {
      absl::StatusOr<LogisticSiteSummary> s = site.Evaluate(beta);
      if (!s.ok()) return s.status();
      out.push_back(*std::move(s));
    }
    return out;
  };
  absl::StatusOr<LogisticFit> federated = FitLogisticFederated(6, {}, evaluate);
  ASSERT_TRUE(federated.ok()) << federated.status();
  for (size_t j = 0; j < coef.size(); ++j) {
    EXPECT_NEAR(federated->coefficients[j], pooled->coefficients[j], 1e-6) << j;
    EXPECT_NEAR(federated->standard_errors[j], pooled->standard_errors[j], 1e-6) << j;
  }
}

// Reference: ld <- pat[!is.na(pat$ldh), ]; u <- glm(death ~ ldh, family = binomial, data = ld,
//   control = ctl); nrow(ld); sd(ld$ldh); exp(coef(u)[2] * sd(ld$ldh))
// The standard error is taken from the information at the final coefficients:
//   X <- cbind(1, ld$ldh); mu <- plogis(X %*% coef(u))
//   se <- sqrt(diag(solve(t(X) %*% (X * as.vector(mu * (1 - mu))))))[2]; b <- coef(u)[2]
//   exp((b + c(-1, 1) * qnorm(0.975) * se) * sd(ld$ldh)); 2 * pnorm(-abs(b / se))
// (vcov(u) differs from it by ~1e-8 relative here: glm's vcov uses the IRLS weights from the
// start of its last iteration, not at the returned coefficients.)
TEST_F(Yan2020Test, LdhOddsRatioPerSdMatchesR) {
  std::vector<double> ldh, death;
  for (const Patient& p : patients_) {
    ldh.push_back(p.ldh);
    death.push_back(p.death);
  }
  AssociationOptions options;
  options.drop_missing_x = true;
  absl::StatusOr<Association> a =
      UnivariateAssociation(ldh, death, VariableKind::kContinuous, options);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->n, 356);
  EXPECT_NEAR(a->scale, 304.904706445572, 1e-9);
  EXPECT_NEAR(a->odds_ratio, 56.687165041989, 1e-9 * 56.7);
  EXPECT_NEAR(a->ci_lower, 24.0402694846913, 1e-9 * 24.0);
  EXPECT_NEAR(a->ci_upper, 133.668829400769, 1e-9 * 133.7);
  EXPECT_NEAR(a->p_value, 2.83308464155253e-20, 1e-8 * 2.83e-20);
  EXPECT_GT(a->z, 0.0);
}

// Reference: r1 <- roc(cc$death, cc$ldh, direction = "<")
//   r2 <- roc(cc$death, -cc$lymph, direction = "<")
//   auc(r1); ci.auc(r1, method = "delong"); (same for r2)
//   t <- roc.test(r1, r2, method = "delong", paired = TRUE); t$statistic; t$p.value
TEST_F(Yan2020Test, AucAndDeLongMatchPRoc) {
  std::vector<double> ldh, minus_lymph, death;
  for (const Patient& p : complete_) {
    ldh.push_back(p.ldh);
    minus_lymph.push_back(-p.lymph);
    death.push_back(p.death);
  }
  absl::StatusOr<AucResult> a = AucWithDeLong(ldh, death);
  ASSERT_TRUE(a.ok());
  EXPECT_NEAR(a->auc, 0.922399109014675, 1e-12);
  EXPECT_NEAR(a->ci_lower, 0.89386314726592, 1e-12);
  EXPECT_NEAR(a->ci_upper, 0.95093507076343, 1e-12);
  absl::StatusOr<AucResult> b = AucWithDeLong(minus_lymph, death);
  ASSERT_TRUE(b.ok());
  EXPECT_NEAR(b->auc, 0.915503799790356, 1e-12);
  EXPECT_NEAR(b->ci_lower, 0.887045785426673, 1e-12);
  absl::StatusOr<AucComparison> c = CompareAucsDeLong(ldh, minus_lymph, death);
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR(c->z, 0.402675770450569, 1e-10);
  EXPECT_NEAR(c->p_value, 0.687186760723022, 1e-10);
}

// Survival from admission to discharge or death by LDH >= 365 U/L (the Yan et al. cut-off).
// Reference: pat$high_ldh <- as.numeric(pat$ldh >= 365)
//   sv <- pat[!is.na(pat$high_ldh) & !is.na(pat$days), ]
//   survdiff(Surv(days, death) ~ high_ldh, data = sv)                  -> chisq, obs, exp
//   survdiff(Surv(days, death) ~ high_ldh + strata(site), data = sv)   -> chisq
//   km <- survfit(Surv(days, death) ~ 1, data = sv[sv$high_ldh == 1, ])
//   summary(km, times = c(5, 10, 20))   -> surv, lower, upper, n.risk
TEST_F(Yan2020Test, LogRankAndKaplanMeierByLdhMatchR) {
  std::vector<double> days, death;
  std::vector<int> high, site;
  for (const Patient& p : patients_) {
    if (std::isnan(p.ldh) || std::isnan(p.days())) continue;
    days.push_back(p.days());
    death.push_back(p.death);
    high.push_back(p.ldh >= 365 ? 1 : 0);
    site.push_back(p.site());
  }
  ASSERT_EQ(days.size(), 356u);
  absl::StatusOr<LogRankResult> plain = LogRankTest(days, death, high);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_NEAR(plain->chi_square, 163.738201595245, 1e-9);
  EXPECT_EQ(plain->observed, (std::vector<double>{28, 135}));
  EXPECT_NEAR(plain->expected[0], 105.378890227582, 1e-10);

  // Stratified by site, federated: each site sends O, E, V from its own counts tables.
  std::vector<LogRankSummary> summaries;
  for (int s = 0; s < 3; ++s) {
    std::vector<SurvivalCounts> groups;
    for (int g = 0; g < 2; ++g) {
      std::vector<double> t, e;
      for (size_t i = 0; i < days.size(); ++i) {
        if (site[i] == s && high[i] == g) {
          t.push_back(days[i]);
          e.push_back(death[i]);
        }
      }
      absl::StatusOr<SurvivalCounts> counts = CountSurvival(t, e);
      ASSERT_TRUE(counts.ok());
      groups.push_back(*counts);
    }
    absl::StatusOr<LogRankSummary> summary = LogRankContribution(groups);
    ASSERT_TRUE(summary.ok());
    summaries.push_back(*summary);
  }
  absl::StatusOr<LogRankResult> stratified = LogRankFromSummaries(summaries);
  ASSERT_TRUE(stratified.ok());
  EXPECT_NEAR(stratified->chi_square, 164.71955824958, 1e-9);
  EXPECT_NEAR(stratified->expected[1], 58.0721641795631, 1e-10);

  std::vector<double> t_high, e_high;
  for (size_t i = 0; i < days.size(); ++i) {
    if (high[i] == 1) {
      t_high.push_back(days[i]);
      e_high.push_back(death[i]);
    }
  }
  absl::StatusOr<SurvivalCounts> counts = CountSurvival(t_high, e_high);
  ASSERT_TRUE(counts.ok());
  absl::StatusOr<KaplanMeierCurve> km = KaplanMeier(*counts);
  ASSERT_TRUE(km.ok());
  const std::vector<double> at = {5, 10, 20};
  const std::vector<double> surv = {0.588829630786865, 0.345229493676094, 0.194911353379425};
  const std::vector<double> lower = {0.516321640911603, 0.277532517912839, 0.138527013551137};
  const std::vector<double> upper = {0.671520049944906, 0.429439419208102, 0.274245684666947};
  const std::vector<int64_t> n_risk = {91, 52, 14};
  EXPECT_EQ(NumberAtRisk(*counts, at), n_risk);
  for (size_t k = 0; k < at.size(); ++k) {
    EXPECT_NEAR(km->SurvivalAt(at[k]), surv[k], 1e-12);
    // The interval at t is the one of the last point at or before t.
    const KaplanMeierPoint* last = nullptr;
    for (const KaplanMeierPoint& p : km->points) {
      if (p.time <= at[k]) last = &p;
    }
    ASSERT_NE(last, nullptr);
    EXPECT_NEAR(last->ci_lower, lower[k], 1e-12);
    EXPECT_NEAR(last->ci_upper, upper[k], 1e-12);
  }
}

}  // namespace
}  // namespace scancov::stats
