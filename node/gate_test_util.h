// Test doubles of the gate's tests (gate_test.cc, dp_gate_test.cc): a site's rows, and a
// plug-in that declares one thing and does what it is told.
#ifndef SCANCOV_NODE_GATE_TEST_UTIL_H_
#define SCANCOV_NODE_GATE_TEST_UTIL_H_

#include <cmath>
#include <string>
#include <vector>

#include "node/gate.h"

namespace scancov::node::testing_util {

class Rows : public DatasetSource {
 public:
  absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                   const std::string& outcome) override {
    asked.insert(asked.end(), variables.begin(), variables.end());
    TabularRows rows;
    rows.columns = variables;
    for (int i = 0; i < patients; ++i) {
      rows.keys.push_back("p" + std::to_string(i));
      for (size_t j = 0; j < variables.size(); ++j) {
        rows.x.push_back(i == 0 && variables[j] == missing_for_first ? NAN : i);
      }
      rows.y.push_back(i % 2);
    }
    return rows;
  }
  int patients = 50;
  std::string missing_for_first;  // a variable the first patient lacks
  std::vector<std::string> asked;
};

// A plug-in that declares one thing and does another, as a buggy or hostile kind would.
class Scripted : public TaskPlugin {
 public:
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task&) const override { return declared; }
  absl::StatusOr<TaskOutcome> Run(const v1::Task&, const protocol::TensorSet*) override {
    ++runs;
    if (!reads.empty()) {
      absl::StatusOr<TabularRows> rows = data->Load(reads, "severe");
      if (!rows.ok()) return rows.status();
    }
    TaskOutcome out = produce;
    return out;
  }
  TaskDeclaration declared;
  std::vector<std::string> reads;
  TaskOutcome produce;
  DatasetSource* data = nullptr;
  int runs = 0;
};

}  // namespace scancov::node::testing_util

#endif  // SCANCOV_NODE_GATE_TEST_UTIL_H_
