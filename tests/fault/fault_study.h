// The fault tests' study and what they read back (federation_fault_test.cc): the tabular
// study they run, in two shapes, and the aggregator's log and audit read for rounds closed and
// results accepted, so a test can tell the moment of its fault and check nothing counted twice.
#ifndef SCANCOV_TESTS_FAULT_FAULT_STUDY_H_
#define SCANCOV_TESTS_FAULT_FAULT_STUDY_H_

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/process_consortium.h"
#include "tests/process_harness.h"

namespace scancov::testing_process {

using nlohmann::json;

// The three sites: patients and a seed each.
inline const std::vector<SiteSetup> kSites = {
    {"kb", 300, 1000}, {"igr", 300, 1001}, {"hegp", 300, 1002}};

struct StudyShape {
  std::string name;
  std::vector<int> hidden;
  int epochs = 3;
  int rounds = 3;
  int min_sites = 3;
  double round_timeout_s = 60;
};

// A tabular_training study of the severity MLP (the demo's, with fewer features).
inline json StudySpec(const StudyShape& s) {
  const json features = json::array(
      {{{"name", "spo2"}, {"transform", "neglog_101_minus"}, {"center", -2.0}, {"scale", 0.6}},
       {{"name", "age"}, {"center", 62}, {"scale", 15}},
       {{"name", "sex"}, {"center", 0.6}, {"scale", 0.5}},
       {{"name", "urea"}, {"transform", "log"}, {"center", 1.8}, {"scale", 0.6}},
       {{"name", "crp"}, {"transform", "log"}, {"center", 3.8}, {"scale", 1.0}}});
  const json spec_json = {{"outcome", "severe"},
                          {"validation_fraction", 0.25},
                          {"model_config", {{"hidden", s.hidden}, {"dropout", 0.1}}},
                          {"features", features}};
  std::vector<std::string> sites;
  for (const SiteSetup& site : kSites) sites.push_back(site.id);
  return {{"name", s.name},
          {"kind", "STUDY_KIND_TRAINING"},
          {"sites", sites},
          {"rounds", s.rounds},
          {"minSites", s.min_sites},
          {"roundTimeoutS", s.round_timeout_s},
          {"strategy", "fedavg"},
          {"plan",
           {{"model", "severity_mlp"},
            {"dataset", "admission"},
            {"localEpochs", s.epochs},
            {"batchSize", 32},
            {"learningRate", 0.005},
            {"seed", "42"}}},
          {"specJson", spec_json.dump()}};
}

// The study of (a) and (b): 3 training rounds, every site needed, a model that trains in a few
// hundred milliseconds per round (so that a round has a middle to be killed in).
inline StudyShape ReferenceShape() { return {"ft-severity", {256, 256}, 3, 3, 3, 60}; }

// The study of (c) and (e): one training round of a model of about 4.25 MB (float32), so that
// its uploads take seconds through a throttled link.
inline StudyShape UploadShape() { return {"ft-upload", {1024, 1024}, 1, 1, 3, 120}; }

// What the aggregator's log says of a study so far: rounds closed, results accepted per round.
struct RoundsSeen {
  std::set<int> closed;
  std::map<int, int> accepted;
  int AcceptedIn(int round) const {
    auto it = accepted.find(round);
    return it == accepted.end() ? 0 : it->second;
  }
  bool MidRound(int* round) const {  // a training round >= 2 with a result in and not closed
    for (const auto& [r, n] : accepted) {
      if (r >= 2 && n > 0 && !closed.count(r) && closed.count(1)) {
        *round = r;
        return true;
      }
    }
    return false;
  }
};

inline RoundsSeen ReadRounds(const std::string& log_path, const std::string& study) {
  RoundsSeen seen;
  const std::string log = ReadWholeFile(log_path);
  const std::regex closed("study '" + study + "': round ([0-9]+) closed");
  const std::regex accepted("accepted result of task '" + study + "/r([0-9]+)/");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), closed); it != std::sregex_iterator();
       ++it) {
    seen.closed.insert(std::stoi((*it)[1]));
  }
  for (auto it = std::sregex_iterator(log.begin(), log.end(), accepted);
       it != std::sregex_iterator(); ++it) {
    ++seen.accepted[std::stoi((*it)[1])];
  }
  return seen;
}

inline std::string Describe(const RoundsSeen& s) {
  std::vector<std::string> parts;
  for (const auto& [r, n] : s.accepted) {
    parts.push_back(
        absl::StrCat("round ", r, ": ", n, " accepted", s.closed.count(r) ? ", closed" : ""));
  }
  return absl::StrJoin(parts, "; ");
}

// The audit log shows no result accepted twice, no round closed twice, and the study done once.
inline void ExpectAuditClean(ProcessConsortium& f, const std::string& study) {
  absl::StatusOr<std::vector<AuditRecord>> audit = f.Audit();
  ASSERT_TRUE(audit.ok()) << audit.status();
  const std::vector<std::string> violations = AuditViolations(*audit, study);
  EXPECT_TRUE(violations.empty()) << absl::StrJoin(violations, "\n");
  EXPECT_EQ(AuditEntries(*audit, study, "study_done").size(), 1u);
}

}  // namespace scancov::testing_process

#endif  // SCANCOV_TESTS_FAULT_FAULT_STUDY_H_
