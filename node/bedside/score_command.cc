#include "node/bedside/score_command.h"

#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "node/bedside/bedside_report.h"

namespace scancov::node {

absl::StatusOr<double> ParseSex(const std::string& text) {
  const std::string s = absl::AsciiStrToLower(text);
  if (s == "m" || s == "male" || s == "1") return 1.0;
  if (s == "f" || s == "female" || s == "0") return 0.0;
  return absl::InvalidArgumentError("--sex: expected M or F");
}

absl::Status AddExtraInputs(const std::vector<std::string>& items, scores::PatientInputs& inputs) {
  for (const std::string& item : items) {
    const std::vector<std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    double value = 0;
    if (kv.size() != 2 || !absl::SimpleAtod(kv[1], &value)) {
      return absl::InvalidArgumentError(absl::StrCat("--input ", kv[0], ": expected name=number"));
    }
    inputs.Set(kv[0], value);
  }
  return absl::OkStatus();
}

bool WriteBedsideOutputs(const BedsideResult& result, const BedsideOutputs& outputs,
                         std::ostream& err) {
  bool ok = true;
  auto check = [&](const absl::Status& s, const std::string& what) {
    if (s.ok()) {
      spdlog::info("{} written", what);
      return;
    }
    err << "error: " << what << ": " << s.message() << "\n";
    ok = false;
  };
  if (!outputs.report.empty()) {
    check(WriteFileAtomic(outputs.report, BedsideReportHtml(result)), outputs.report);
  }
  if (!outputs.json.empty()) {
    check(WriteFileAtomic(outputs.json, BedsideResultJson(result)), outputs.json);
  }
  if (!outputs.seg.empty()) check(WriteBedsideSeg(outputs.seg, result), outputs.seg);
  return ok;
}

}  // namespace scancov::node
