// How far this machine's clock is from the aggregator's, measured from a response that carries
// the aggregator's time (RegisterResponse, HeartbeatResponse, ServerTimeResponse:
// server_time_unix_ms), and the limits the node holds it to.
//
// The aggregator reads its clock while it answers, somewhere between the node sending the call
// and receiving the answer; the estimate takes the middle of that interval (half the round trip,
// as NTP does), so the error of the estimate is at most half the round trip.
//
// Thread safety: MeasureClockSkew is a pure function; ClockSkewWatch may be used from any thread.
#ifndef SCANCOV_NODE_CLOCK_SKEW_H_
#define SCANCOV_NODE_CLOCK_SKEW_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace scancov::node {

// Beyond this the node's clock is wrong, not merely drifting: a certificate just issued (or
// revoked) is judged against the wrong time, round deadlines (seconds to minutes apart from
// the heartbeats that extend them) fire early or late, and the node's ledger and the
// aggregator's audit log no longer order the same events the same way. Five minutes is also
// the tolerance Kerberos and most token verifiers allow before refusing a peer.
inline constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);
// Beyond this the preflight warns: NTP keeps a synchronised clock within milliseconds, so
// half a minute off means the clock is not synchronised and is drifting towards the limit.
inline constexpr absl::Duration kClockSkewWarning = absl::Seconds(30);

struct ClockSkew {
  absl::Duration skew;        // aggregator's time - local time; positive: this clock is behind
  absl::Duration round_trip;  // of the call the measurement came from
};

// The skew shown by a response with `server_time_unix_ms`, for a call sent at `sent` and
// answered at `received` (both by the local clock). nullopt when server_time_unix_ms is 0 (an
// aggregator older than the field sends none).
std::optional<ClockSkew> MeasureClockSkew(int64_t server_time_unix_ms, absl::Time sent,
                                          absl::Time received);

// How this clock stands to the aggregator's, e.g. "this clock is 10m0s behind the
// aggregator's (round trip 2ms, half of it taken off)".
std::string DescribeClockSkew(const ClockSkew& skew);

// Logs one warning (spdlog) the first time a response shows this clock off by more than
// kMaxClockSkew; later responses are measured but not logged again, so a node with a wrong clock
// does not flood its log with one line per heartbeat.
class ClockSkewWatch {
 public:
  // Returns true when this response was the one that logged the warning. `call` names the
  // response's call ("Register", "Heartbeat").
  bool Observe(absl::string_view call, int64_t server_time_unix_ms, absl::Time sent,
               absl::Time received);
  bool warned() const { return warned_; }

 private:
  std::atomic<bool> warned_{false};
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CLOCK_SKEW_H_
