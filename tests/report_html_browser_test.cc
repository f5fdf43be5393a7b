// The HTML reports of a real federated run, opened in headless Chromium (Debian's `chromium`) as
// a coordinator would open them: two synthetic hospitals run a Table 1 study and the external
// validation plan in process (the studies' rounds go through the federation and the sites'
// nodes), the reports are written as scancov-coord writes them, and each page's DOM, as the
// browser built it, must hold every section with the run's own numbers, and no empty, NaN or
// placeholder value. A screenshot of each page is kept under the build tree
// (SCANCOV_TEST_ARTIFACTS_DIR) for people to look at.
//
// Without Chromium the tests fail (CI installs it with scripts/install-deps.sh test): a page
// nobody rendered is not a page that renders.
#include <gmock/gmock.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/study_wait.h"
#include "aggregator/coordinator/validate_command.h"
#include "core/file_util.h"
#include "core/number_format.h"
#include "protocol/wire/cohort_description.h"
#include "protocol/wire/logistic_regression.h"
#include "protocol/wire/model_evaluation.h"
#include "protocol/wire/univariate_association.h"
#include "tests/headless_chromium.h"
#include "tests/in_process_coordinator.h"

#ifndef SCANCOV_TEST_ARTIFACTS_DIR
#define SCANCOV_TEST_ARTIFACTS_DIR "/tmp/scancov_test_artifacts"
#endif

namespace scancov {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPlan[] = R"({
  "name": "val", "sites": ["kb", "igr"], "outcomes": ["severe"],
  "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "disease_extent", "age"],
  "leave_one_out": false, "min_cell_count": 5,
  "survival": {"time": "time_to_event_days", "event": "event"}})";

constexpr char kCohort[] = R"({"analysis": "cohort_description", "outcome": "severe",
  "variables": ["age", "sex", "spo2", "crp", "ggo", "cancer"]})";

constexpr char kTable1[] = R"({"analysis": "univariate_association", "outcome": "severe",
  "variables": ["age", "sex", "spo2", "urea", "platelets", "hypertension"]})";

// Screenshots and the pages they show, kept for people: one file per test, so that tests run as
// separate processes (ctest) never write the same file.
std::string ArtifactsDir() { return std::string(SCANCOV_TEST_ARTIFACTS_DIR) + "/report_html"; }

// The run's reports, private to this process (TEST_TMPDIR, core/test_main.cc).
std::string ReportsDir() { return ::testing::TempDir() + "/report_html_run"; }

class ReportHtmlBrowserTest : public ::testing::Test {
 protected:
  // One federated run for every test of the suite.
  static void SetUpTestSuite() {
    FakeClock time;
    std::unique_ptr<aggregator::Federation> federation = testing_sites::InMemoryFederation(time);
    std::vector<testing_sites::Site> sites;
    sites.push_back(testing_sites::MakeSite("kb", 41, 800));
    sites.push_back(testing_sites::MakeSite("igr", 42, 300));
    testing_sites::InProcessCoordinatorApi api(federation.get());
    for (const testing_sites::Site& s : sites) ASSERT_TRUE(api.EnrollSite(s.id, "").ok());
    testing_sites::NodesTakeTurns clock(federation.get(), &time, sites);
    std::filesystem::remove_all(ReportsDir());
    ASSERT_TRUE(MakeDirs(ArtifactsDir()).ok());
    for (const auto& [name, spec_json] : {std::pair{"table1", kTable1}, {"cohort", kCohort}}) {
      v1::StudySpec spec;
      spec.set_name(name);
      spec.set_kind(v1::STUDY_KIND_ANALYSIS);
      spec.add_sites("kb");
      spec.add_sites("igr");
      spec.set_round_timeout_s(300);
      spec.set_spec_json(spec_json);
      ASSERT_TRUE(api.CreateStudy(spec).ok());
      absl::StatusOr<std::vector<v1::StudyStatus>> done =
          aggregator::WaitForStudies(api, {name}, 3600, &clock);
      ASSERT_TRUE(done.ok()) << done.status();
      ASSERT_TRUE(aggregator::WriteStudyReport(done->front(), ReportsDir() + "/" + name).ok());
    }
    ASSERT_TRUE(WriteFileAtomic(ReportsDir() + "/plan.json", kPlan).ok());
    aggregator::ValidateOptions options;
    options.plan_file = ReportsDir() + "/plan.json";
    options.out_dir = ReportsDir() + "/validation";
    options.clock = &clock;
    std::ostringstream out;
    ASSERT_TRUE(aggregator::RunValidationPlan(api, options, out).ok()) << out.str();
    absl::StatusOr<v1::ListStudiesResponse> all = api.ListStudies();
    ASSERT_TRUE(all.ok());
    auto* studies = new std::vector<v1::StudyStatus>;
    for (const v1::StudyStatus& listed : all->studies()) {  // a list leaves the rounds out
      absl::StatusOr<v1::StudyStatus> st = api.GetStudyStatus(listed.study_id());
      ASSERT_TRUE(st.ok()) << st.status();
      studies->push_back(*std::move(st));
    }
    studies_ = studies;
  }
  static void TearDownTestSuite() {
    delete studies_;
    studies_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(studies_, nullptr) << "the federated run failed"; }

  static const v1::StudyStatus& Study(const std::string& id) {
    for (const v1::StudyStatus& st : *studies_) {
      if (st.study_id() == id) return st;
    }
    ADD_FAILURE() << "no study " << id;
    static const v1::StudyStatus* none = new v1::StudyStatus;
    return *none;
  }

  // The page's DOM as Chromium built it, after checks every page must pass; the page and its
  // screenshot are kept as <name>.html and <name>.png in ArtifactsDir().
  static std::string Render(const std::string& page, const std::string& name) {
    absl::StatusOr<std::string> html = ReadFileToString(page);
    EXPECT_TRUE(html.ok() && WriteFileAtomic(ArtifactsDir() + "/" + name + ".html", *html).ok())
        << page;
    testing_browser::ChromiumOptions tall;
    tall.window_size = "1280,2400";
    absl::StatusOr<std::string> dom = testing_browser::DumpDom("file://" + page, tall);
    if (!dom.ok()) {
      ADD_FAILURE() << dom.status();
      return "";
    }
    const std::string png = ArtifactsDir() + "/" + name + ".png";
    const absl::Status shot = testing_browser::Screenshot("file://" + page, png, tall);
    EXPECT_TRUE(shot.ok()) << shot;
    absl::StatusOr<std::string> image = ReadFileToString(png);
    EXPECT_TRUE(image.ok() && absl::StartsWith(*image, "\x89PNG") && image->size() > 20000)
        << png << ": no screenshot, or a blank one";
    EXPECT_THAT(*dom, HasSubstr("<main>"));
    EXPECT_THAT(*dom, Not(HasSubstr("<td></td>")));
    EXPECT_THAT(*dom, Not(HasSubstr("<script")));
    static const std::regex kPlaceholder(R"(\b(nan|NaN|inf|undefined|null|TODO)\b)");
    std::smatch bad;
    EXPECT_FALSE(std::regex_search(*dom, bad, kPlaceholder)) << name << ": '" << bad.str() << "'";
    // Every entry of the table of contents leads to a section of the page.
    static const std::regex kToc("<li><a href=\"#(sec-[0-9]+)\">");
    int entries = 0;
    for (auto it = std::sregex_iterator(dom->begin(), dom->end(), kToc);
         it != std::sregex_iterator(); ++it, ++entries) {
      EXPECT_THAT(*dom, HasSubstr(absl::StrCat("<h2 id=\"", (*it)[1].str(), "\">")));
    }
    EXPECT_GE(entries, 1) << name;
    return *dom;
  }

  static int Count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  static std::vector<v1::StudyStatus>* studies_;
};

std::vector<v1::StudyStatus>* ReportHtmlBrowserTest::studies_ = nullptr;

TEST_F(ReportHtmlBrowserTest, ChromiumIsInstalled) {
  EXPECT_TRUE(testing_browser::FindChromium().ok())
      << "headless Chromium is needed to test the HTML reports: run `scripts/install-deps.sh "
         "test` (CI installs it)";
}

TEST_F(ReportHtmlBrowserTest, TableOneWithItsForestPlot) {
  const v1::StudyStatus& st = Study("table1");
  ASSERT_FALSE(st.rounds().empty());
  absl::StatusOr<wire::AssociationTable> t =
      wire::ParseAssociationTable(st.rounds().rbegin()->result_json());
  ASSERT_TRUE(t.ok()) << t.status();
  const std::string dom = Render(ReportsDir() + "/table1/report.html", "table1");
  EXPECT_THAT(dom, HasSubstr("<title>Study table1</title>"));
  EXPECT_THAT(dom, HasSubstr("<dd>univariate_association</dd>"));
  EXPECT_THAT(dom, HasSubstr("Univariate association with <code>severe</code></h2>"));
  EXPECT_EQ(Count(dom, "<svg"), 1);
  EXPECT_THAT(dom, HasSubstr("Odds ratios for severe per site"));
  for (const std::string& site : {"kb", "igr"}) {
    EXPECT_THAT(dom, HasSubstr(absl::StrCat("<td>", site, "</td>\n<td class=\"num\">",
                                            t->site_counts.at(site).first, "</td>")));
  }
  int released = 0;
  for (const wire::AssociationRow& row : t->rows) {
    const wire::AssociationTerm& kb = row.sites.at("kb");
    if (kb.status != "ok") continue;
    ++released;
    EXPECT_THAT(dom, HasSubstr(absl::StrFormat("%.2f (%.2f-%.2f)", kb.odds_ratio, kb.ci_lower,
                                               kb.ci_upper)))
        << row.term;
    EXPECT_THAT(dom, HasSubstr(absl::StrCat(">", row.term, "</text>"))) << "forest plot row";
  }
  EXPECT_GE(released, 4);
}

TEST_F(ReportHtmlBrowserTest, CohortDescription) {
  const v1::StudyStatus& st = Study("cohort");
  ASSERT_FALSE(st.rounds().empty());
  absl::StatusOr<wire::CohortTable> t = wire::ParseCohortTable(st.rounds().rbegin()->result_json());
  ASSERT_TRUE(t.ok()) << t.status();
  const std::string dom = Render(ReportsDir() + "/cohort/report.html", "cohort");
  EXPECT_THAT(dom, HasSubstr("Cohort description (Table 1)</h2>"));
  EXPECT_THAT(dom, HasSubstr(absl::StrCat("<td>patients</td>\n<td class=\"num\">",
                                          t->site_patients.at("kb"), "</td>\n<td class=\"num\">",
                                          t->site_patients.at("igr"), "</td>\n<td class=\"num\">",
                                          t->pooled_patients, "</td>")));
  for (const char* row : {"<td>age</td>", "<td>spo2</td>", "<td>sex = 1</td>"}) {
    EXPECT_THAT(dom, HasSubstr(row));
  }
}

TEST_F(ReportHtmlBrowserTest, ExternalValidationWithRocPerSiteAndKaplanMeier) {
  // The evaluation study of the models trained at kb, at igr and over both.
  const v1::StudyStatus* eval = nullptr;
  wire::EvaluationResult r;
  for (const v1::StudyStatus& st : *studies_) {
    if (st.rounds().empty()) continue;
    absl::StatusOr<wire::EvaluationResult> parsed =
        wire::ParseEvaluationResult(st.rounds().rbegin()->result_json());
    if (parsed.ok() && !parsed->models.empty() && parsed->models.front().pooled.has_survival) {
      eval = &st;
      r = *parsed;
      break;
    }
  }
  ASSERT_NE(eval, nullptr) << "no evaluation study with survival curves";
  const std::string dom = Render(
      absl::StrCat(ReportsDir(), "/validation/", eval->study_id(), "/report.html"), "evaluation");
  EXPECT_THAT(dom, HasSubstr("External validation</h2>"));
  EXPECT_THAT(dom, HasSubstr("<h3>ROC curves</h3>"));
  EXPECT_THAT(dom, HasSubstr("<h3>Survival by risk group</h3>"));
  EXPECT_THAT(dom, HasSubstr("ROC: all sites"));
  EXPECT_THAT(dom, HasSubstr("ROC: site kb"));
  EXPECT_THAT(dom, HasSubstr("ROC: site igr"));
  EXPECT_THAT(dom, HasSubstr("Kaplan-Meier by risk group"));
  for (const wire::EvaluationModelResult& m : r.models) {
    for (const auto& [site, s] : m.sites) {
      if (s.status != "ok") continue;
      // The site's DeLong AUC and its CI, in the table and in the site's ROC legend.
      EXPECT_THAT(dom, HasSubstr(absl::StrFormat("%.3f (%.3f-%.3f)", s.auc.auc, s.auc.ci_lower,
                                                 s.auc.ci_upper)))
          << m.name << " at " << site;
      if (s.roc.has_value()) {
        EXPECT_THAT(dom, HasSubstr(absl::StrFormat("%s (AUC %.3f)", m.name, s.auc.auc)));
      }
    }
  }
}

TEST_F(ReportHtmlBrowserTest, FederatedFitWithItsCoefficients) {
  const v1::StudyStatus& st = Study("val-severe-federated");
  ASSERT_FALSE(st.rounds().empty());
  absl::StatusOr<wire::LogisticRoundResult> r =
      wire::ParseLogisticRoundResult(st.rounds().rbegin()->result_json());
  ASSERT_TRUE(r.ok() && r->fit) << st.rounds().rbegin()->result_json().substr(0, 200);
  const std::string dom =
      Render(ReportsDir() + "/validation/val-severe-federated/report.html", "logistic_fit");
  EXPECT_THAT(dom, HasSubstr("Federated logistic regression (exact Newton steps)</h2>"));
  EXPECT_THAT(dom, HasSubstr(absl::StrCat("Converged after ", r->fit->iterations)));
  for (const wire::LogisticTerm& t : r->fit->coefficients) {
    EXPECT_THAT(dom, HasSubstr(absl::StrFormat("<td>%s</td>\n<td class=\"num\">%s</td>", t.term,
                                               HumanNumber(t.beta, 4))));
    // Odds ratios to 3 significant digits: never "0.000" for a small one (the intercept's).
    EXPECT_THAT(dom, HasSubstr(absl::StrCat("<td class=\"num\">", HumanNumber(t.odds_ratio, 3),
                                            " (", HumanNumber(t.ci_lower, 3), "-")));
  }
}

TEST_F(ReportHtmlBrowserTest, ValidationMatrixAsAHeatMap) {
  const std::string dom = Render(ReportsDir() + "/validation/validation.html", "validation");
  EXPECT_THAT(dom, HasSubstr("Outcome <code>severe</code></h2>"));
  EXPECT_THAT(dom, HasSubstr("AUC (95% DeLong CI) of each model at each site, outcome severe"));
  EXPECT_GE(Count(dom, "<svg"), 1);
  // A cell of the heat map for every AUC of the matrix's models at kb.
  int cells = 0;
  for (const v1::StudyStatus& st : *studies_) {
    if (st.rounds().empty()) continue;
    absl::StatusOr<wire::EvaluationResult> r =
        wire::ParseEvaluationResult(st.rounds().rbegin()->result_json());
    if (!r.ok()) continue;
    for (const wire::EvaluationModelResult& m : r->models) {
      auto kb = m.sites.find("kb");
      if (kb == m.sites.end() || kb->second.status != "ok") continue;
      EXPECT_THAT(dom, HasSubstr(absl::StrFormat(">%.2f", kb->second.auc.auc))) << m.name;
      ++cells;
    }
  }
  EXPECT_GE(cells, 4);
}

}  // namespace
}  // namespace scancov
