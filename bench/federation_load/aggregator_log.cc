#include "bench/federation_load/aggregator_log.h"

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace scancov::bench {
namespace {

constexpr size_t kStampLength = 23;  // "2026-12-06 23:10:01.123"

// The number that follows `prefix` in `line` (false if none).
bool NumberAfter(const std::string& line, const std::string& prefix, uint32_t* out) {
  const size_t at = line.find(prefix);
  if (at == std::string::npos) return false;
  size_t end = at + prefix.size();
  while (end < line.size() && isdigit(static_cast<unsigned char>(line[end]))) ++end;
  return absl::SimpleAtoi(line.substr(at + prefix.size(), end - at - prefix.size()), out);
}

}  // namespace

absl::StatusOr<std::map<uint32_t, LoggedRound>> ReadAggregatorLog(const std::string& path,
                                                                  const std::string& study_id,
                                                                  absl::Time epoch) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  const std::string accepted = absl::StrCat("accepted result of task '", study_id, "/r");
  const std::string study = absl::StrCat("study '", study_id, "': round ");
  std::map<uint32_t, LoggedRound> rounds;
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < kStampLength) continue;
    absl::Time t;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", line.substr(0, kStampLength), absl::LocalTimeZone(),
                         &t, &error)) {
      continue;  // not a log line (e.g. a crash report)
    }
    const double s = absl::ToDoubleSeconds(t - epoch);
    uint32_t round = 0;
    if (NumberAfter(line, accepted, &round)) {
      rounds[round].accepted.push_back(s);
    } else if (NumberAfter(line, study, &round)) {
      if (line.find(" closed with ") != std::string::npos) rounds[round].closed = s;
      if (line.find("stored updates") != std::string::npos) rounds[round].rebuilt = true;
    }
  }
  return rounds;
}

}  // namespace scancov::bench
