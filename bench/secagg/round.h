// One secure-aggregation round for the benchmark (bench_secagg.cc): n SecAggClients and a
// SecAggServer in one process, driven step by step in the protocol's order, every call timed
// (wall clock and the calling thread's CPU time) and every message's Serialize() size recorded.
//
// Sites are "site-000", "site-001", ... with fresh P-256 keys and self-signed certificates
// (privacy/secagg/test_sites.h); their randomness is SecureRandom::System(), as in production.
// The last `dropouts` sites advertise and share keys, then send no input. Inputs are uniform
// in [-1, 1), generated from a seed outside the timed calls.
//
// With masking_sites = 0 the round runs to the server's Finish and its ring sum is checked
// against the sum of the survivors' encodings (a wrong sum is an error, not a figure). With
// 0 < masking_sites < survivors only the first masking_sites survivors run MaskInput and the
// round stops there: no CloseMasking, Unmask or Finish (for graphs whose n x (k + 1) mask
// streams do not fit the time at hand); the report then carries the measured per-stream cost
// from which the rest may be computed, and labelled as computed.
//
// Single-threaded: every step runs on the calling thread, sites one after the other.
#ifndef SCANCOV_BENCH_SECAGG_ROUND_H_
#define SCANCOV_BENCH_SECAGG_ROUND_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace scancov::bench::secagg {

struct RoundOptions {
  size_t elements = 7'500'000;  // model elements (7.5 M float32 = 30 MB)
  int sites = 10;
  int neighbours = 0;     // SecAgg+ k; 0 = complete graph
  int dropouts = 0;       // share keys, then send no input
  int threshold = 0;      // 0: the smallest majority of a neighbourhood
  int masking_sites = 0;  // 0: every survivor masks and the round completes
  uint64_t input_seed = 1;
};

struct Cost {
  double wall_s = 0;
  double cpu_s = 0;
};

// A client step, with the cost for each site that ran it.
struct SiteStep {
  std::string name;
  std::vector<Cost> costs;
};

// A server step; `calls` > 1 for a Receive* summed over all sites.
struct ServerStep {
  std::string name;
  int calls = 1;
  Cost cost;
};

// One message kind: its Serialize() size for each site that sent or received it.
struct WireRow {
  std::string message;
  std::string direction;
  std::vector<size_t> bytes;
};

struct RoundReport {
  int threshold = 0;
  int survivors = 0;
  int masked = 0;             // sites whose MaskInput ran
  bool completed = false;     // Finish ran (and its sum was checked)
  size_t mask_streams = 0;    // streams of the sites that masked: pairwise + self, summed
  size_t finish_streams = 0;  // self masks of survivors + pairwise masks of dropped sites
  // Measured parts, each over the full vector (medians of 3): allocating a fresh ring vector
  // (its first touch: page faults), encoding the input, one ChaCha20 mask stream (ApplyMask),
  // adding one ring vector into a sum, decoding the sum to doubles (allocation included).
  Cost fresh_vector;
  Cost encode;
  Cost stream;
  Cost add_pass;
  Cost decode;
  std::vector<SiteStep> site_steps;
  std::vector<ServerStep> server_steps;
  std::vector<WireRow> wire;
};

absl::StatusOr<RoundReport> RunRound(const RoundOptions& options);

}  // namespace scancov::bench::secagg

#endif  // SCANCOV_BENCH_SECAGG_ROUND_H_
