#include "node/clock_skew.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace scancov::node {

std::optional<ClockSkew> MeasureClockSkew(int64_t server_time_unix_ms, absl::Time sent,
                                          absl::Time received) {
  if (server_time_unix_ms == 0) return std::nullopt;
  // A clock stepped back during the call gives a negative interval; count it as instant.
  const absl::Duration round_trip = std::max(received - sent, absl::ZeroDuration());
  const absl::Time local_midpoint = sent + round_trip / 2;
  return ClockSkew{absl::FromUnixMillis(server_time_unix_ms) - local_midpoint, round_trip};
}

std::string DescribeClockSkew(const ClockSkew& skew) {
  // Whole milliseconds: the estimate is no better than half the round trip anyway.
  const absl::Duration off = absl::Trunc(absl::AbsDuration(skew.skew), absl::Milliseconds(1));
  const std::string how =
      off == absl::ZeroDuration()
          ? "this clock agrees with the aggregator's to the millisecond"
          : absl::StrCat("this clock is ", absl::FormatDuration(off),
                         skew.skew > absl::ZeroDuration() ? " behind" : " ahead of",
                         " the aggregator's");
  return absl::StrCat(how, " (round trip ",
                      absl::FormatDuration(absl::Trunc(skew.round_trip, absl::Milliseconds(1))),
                      ", half of it taken off)");
}

bool ClockSkewWatch::Observe(absl::string_view call, int64_t server_time_unix_ms, absl::Time sent,
                             absl::Time received) {
  const std::optional<ClockSkew> skew = MeasureClockSkew(server_time_unix_ms, sent, received);
  if (!skew || absl::AbsDuration(skew->skew) <= kMaxClockSkew) return false;
  if (warned_.exchange(true)) return false;
  spdlog::warn(
      "{} response: {}, more than the {} allowed; task deadlines and the order of the ledger and "
      "the aggregator's audit log assume both clocks agree: set this machine's clock right (NTP)",
      std::string(call), DescribeClockSkew(*skew), absl::FormatDuration(kMaxClockSkew));
  return true;
}

}  // namespace scancov::node
