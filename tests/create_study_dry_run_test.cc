// `scancov-coord create-study --dry-run` against an in-process federation: the aggregator's own
// checks run (sites enrolled, the kind's options, privacy options), nothing is created, and a
// spec a create would refuse fails the dry run with the same error; every spec the demo and the
// docs show reads and passes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_replace.h"
#include "aggregator/coordinator/coord_commands.h"
#include "aggregator/coordinator/study_spec_json.h"
#include "aggregator/server/store.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "core/file_util.h"
#include "protocol/study_kind.h"
#include "tests/in_process_coordinator_api.h"

namespace scancov {
namespace {

using ::testing::HasSubstr;

// The study specs scripts/demo.sh writes: its `cat >"$RUN/<name>.json" <<JSON` blocks that name
// a STUDY_KIND, with the demo's defaults for its variables.
std::vector<std::string> DemoSpecs() {
  auto demo = ReadFileToString("scripts/demo.sh");
  EXPECT_TRUE(demo.ok()) << demo.status();
  std::vector<std::string> specs;
  if (!demo.ok()) return specs;
  const std::regex block(R"(<<JSON\n([\s\S]*?)\nJSON\n)");
  for (std::sregex_iterator it(demo->begin(), demo->end(), block), end; it != end; ++it) {
    if ((*it)[1].str().find("STUDY_KIND_") == std::string::npos) continue;  // a site file
    specs.push_back(absl::StrReplaceAll(
        (*it)[1].str(),
        {{"$ROUNDS", "5"},
         {"$AISEV_ENCODERS", R"({"window": "single", "slice_size": 64, "embedding_dim": 6})"}}));
  }
  return specs;
}

// The study specs docs/studies.md and README.md show: ```json blocks that name a STUDY_KIND.
std::vector<std::string> DocSpecs() {
  std::vector<std::string> specs;
  for (const char* path : {"docs/studies.md", "README.md"}) {
    auto text = ReadFileToString(path);
    EXPECT_TRUE(text.ok()) << text.status();
    if (!text.ok()) continue;
    const std::regex block(R"(```json\n([\s\S]*?)```)");
    for (std::sregex_iterator it(text->begin(), text->end(), block), end; it != end; ++it) {
      if ((*it)[1].str().find("STUDY_KIND_") != std::string::npos) specs.push_back((*it)[1]);
    }
  }
  return specs;
}

class CreateStudyDryRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = aggregator::AggregatorStore::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.clock = &clock_;
    federation_ = std::make_unique<aggregator::Federation>(std::move(*store), options);
    api_ = std::make_unique<testing_sites::InProcessCoordinatorApi>(federation_.get());
    for (const char* site : {"kb", "igr", "hegp"}) ASSERT_TRUE(api_->EnrollSite(site, "").ok());
  }

  std::string SpecFile(const std::string& text) {
    const std::string path = ::testing::TempDir() + "/dry_run_study.json";
    EXPECT_TRUE(WriteFileAtomic(path, text).ok());
    return path;
  }

  int Studies() {
    auto list = api_->ListStudies();
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? list->studies_size() : -1;
  }

  FakeClock clock_;
  std::unique_ptr<aggregator::Federation> federation_;
  std::unique_ptr<testing_sites::InProcessCoordinatorApi> api_;
};

TEST_F(CreateStudyDryRunTest, AGoodSpecPrintsEverySiteAndCreatesNothing) {
  const std::string path = SpecFile(R"({
    "name": "refit", "kind": "STUDY_KIND_ANALYSIS", "sites": ["kb", "igr", "hegp"],
    "spec": {"analysis": "logistic_regression", "outcome": "severe",
             "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "age"],
             "min_cell_count": 5},
    "privacy": {"secure_aggregation": {"threshold": 2, "fractional_bits": 40}}})");
  std::ostringstream out;
  const absl::Status dry = aggregator::CreateStudyDryRunCommand(*api_, path, out);
  ASSERT_TRUE(dry.ok()) << dry;
  const std::string printed = out.str();
  EXPECT_THAT(printed, HasSubstr("study refit: dry run: the spec passed every check; nothing was "
                                 "created; secure aggregation of the sites' answers\n"));
  for (const char* site : {"kb", "igr", "hegp"}) {
    EXPECT_THAT(printed, HasSubstr(absl::StrCat("  ", site,
                                                " (answers the analysis): logistic_regression\n"
                                                "    names: the outcome 'severe'; 2 "
                                                "variable(s): spo2, age\n")))
        << printed;
  }
  EXPECT_EQ(Studies(), 0);
  std::ostringstream created;
  ASSERT_TRUE(aggregator::CreateStudyCommand(*api_, path, created).ok());
  EXPECT_EQ(created.str(), "study refit created\n");
  EXPECT_EQ(Studies(), 1);
}

TEST_F(CreateStudyDryRunTest, ATrainingSpecNamesItsEvaluationSitesAndTheDpCost) {
  const std::string path = SpecFile(R"({
    "name": "sev", "kind": "STUDY_KIND_TRAINING", "sites": ["kb", "igr"],
    "evaluationSites": ["hegp"], "rounds": 2,
    "plan": {"model": "severity_mlp", "localEpochs": 1, "batchSize": 32, "learningRate": 0.01},
    "spec": {"outcome": "severe", "features": ["age", "spo2"]},
    "privacy": {"dp": {"mode": "site", "clip_norm": 1.0, "noise_multiplier": 1.1,
                       "delta": 1e-5}}})");
  std::ostringstream out;
  ASSERT_TRUE(aggregator::CreateStudyDryRunCommand(*api_, path, out).ok()) << out.str();
  EXPECT_THAT(out.str(), HasSubstr("dp: each site's releases cost at most epsilon"));
  EXPECT_THAT(out.str(), HasSubstr("  kb (trains): tabular_training\n"));
  EXPECT_THAT(out.str(), HasSubstr("  hegp (evaluates the final model only)"));
  EXPECT_THAT(out.str(), HasSubstr("training plan: model severity_mlp"));
  EXPECT_EQ(Studies(), 0);
}

TEST_F(CreateStudyDryRunTest, ABadSpecFailsWithTheErrorACreateWouldGive) {
  struct Case {
    std::string what, spec, why;
  };
  const std::vector<Case> bad = {
      {"unknown analysis",
       R"({"name": "b1", "kind": "STUDY_KIND_ANALYSIS", "sites": ["kb"],
           "spec": {"analysis": "horoscope", "outcome": "severe"}})",
       "unknown study kind 'horoscope'"},
      {"the kind's options refused by its factory",
       R"({"name": "b2", "kind": "STUDY_KIND_ANALYSIS", "sites": ["kb"],
           "spec": {"analysis": "logistic_regression", "outcome": "severe",
                    "features": [{"name": "age", "transform": "cube"}]}})",
       "features[0]: unknown transform 'cube'"},
      {"site not enrolled",
       R"({"name": "b3", "kind": "STUDY_KIND_ANALYSIS", "sites": ["kb", "xyz"],
           "spec": {"analysis": "cohort_description", "variables": ["age"]}})",
       "site 'xyz' is not enrolled"},
      {"unknown privacy option",
       R"({"name": "b4", "kind": "STUDY_KIND_ANALYSIS", "sites": ["kb"],
           "spec": {"analysis": "cohort_description", "variables": ["age"]},
           "privacy": {"anonymise": true}})",
       "unknown privacy option 'anonymise'"},
      {"secure aggregation too coarse for the fit",
       R"({"name": "b5", "kind": "STUDY_KIND_ANALYSIS", "sites": ["kb", "igr"],
           "spec": {"analysis": "logistic_regression", "outcome": "severe", "features": ["age"]},
           "privacy": {"secure_aggregation": {"threshold": 2}}})",
       "fractional_bits must be at least 35"},
  };
  for (const auto& [what, text, why] : bad) {
    const std::string path = SpecFile(text);
    std::ostringstream out;
    const absl::Status dry = aggregator::CreateStudyDryRunCommand(*api_, path, out);
    const absl::Status real = aggregator::CreateStudyCommand(*api_, path, out);
    EXPECT_FALSE(dry.ok()) << what;
    EXPECT_EQ(dry, real) << what;
    EXPECT_THAT(dry.message(), HasSubstr(why)) << what;
  }
  EXPECT_EQ(Studies(), 0);
}

// Each spec file the demo writes and the docs show reads in the plain form and passes the
// aggregator's checks (the demo's own enrolled sites: kb, igr, hegp).
TEST_F(CreateStudyDryRunTest, EverySpecOfTheDemoAndTheDocsPassesADryRun) {
  const std::vector<std::string> demo = DemoSpecs();
  const std::vector<std::string> docs = DocSpecs();
  EXPECT_GE(demo.size(), 9u);
  EXPECT_GE(docs.size(), 2u);  // docs/studies.md's and README.md's
  std::vector<std::string> all = demo;
  all.insert(all.end(), docs.begin(), docs.end());
  for (const std::string& text : all) {
    // Written as plain objects: no JSON inside strings left.
    EXPECT_EQ(text.find("specJson"), std::string::npos) << text;
    EXPECT_EQ(text.find("privacyJson"), std::string::npos) << text;
    auto spec = aggregator::StudySpecFromJson(text);
    ASSERT_TRUE(spec.ok()) << spec.status() << "\n" << text;
    EXPECT_TRUE(nlohmann::json::parse(spec->spec_json()).is_object()) << text;
    std::ostringstream out;
    const absl::Status dry = aggregator::CreateStudyDryRunCommand(*api_, SpecFile(text), out);
    EXPECT_TRUE(dry.ok()) << dry << "\n" << text;
  }
  EXPECT_EQ(Studies(), 0);
}

// docs/templates/ holds one spec file per study kind (the coordinator's starting point): each
// kind this build registers has one, each is of its kind, and each passes a dry run.
TEST_F(CreateStudyDryRunTest, EveryStudyKindHasATemplateThatPassesADryRun) {
  std::set<std::string> expected;
  for (const protocol::StudyKindInfo& info : protocol::AllStudyKinds()) {
    const std::string name(info.name);
    expected.insert(name + ".json");
    SCOPED_TRACE(name);
    absl::StatusOr<std::string> text = ReadFileToString("docs/templates/" + name + ".json");
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<v1::StudySpec> spec = aggregator::StudySpecFromJson(*text);
    ASSERT_TRUE(spec.ok()) << spec.status();
    absl::StatusOr<protocol::StudyKind> kind = protocol::StudyKindOf(*spec);
    ASSERT_TRUE(kind.ok()) << kind.status();
    EXPECT_EQ(protocol::StudyKindName(*kind), name);
    std::ostringstream out;
    const absl::Status dry = aggregator::CreateStudyDryRunCommand(*api_, SpecFile(*text), out);
    EXPECT_TRUE(dry.ok()) << dry;
  }
  std::set<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("docs/templates")) {
    found.insert(entry.path().filename().string());
  }
  EXPECT_EQ(found, expected) << "a template for a kind this build does not know, or a stray file";
  EXPECT_EQ(Studies(), 0);
}

}  // namespace
}  // namespace scancov
