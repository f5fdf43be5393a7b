// WorkMeter: how much the aggregator has worked through, shown to a waiting node only as an
// opaque token that changes when the amount does (UploadStatusResponse.work_token).
//
// A node that has sent its whole upload waits while the aggregator verifies, stores and folds it
// (and, under the federation's lock, whatever came first): minutes for a large model. It follows
// that wait through UploadStatus (node/upload_follower.h). The answer "every chunk held, not yet
// accepted" reads the same from a busy aggregator and from a hung one; the token tells them
// apart: it changes while any bytes move through the aggregator (chunks received, updates folded,
// stored results folded again, models written) and stays the same while nothing does.
//
// The token is SHA-256 over a per-process random salt and the byte count, truncated to 8 bytes:
// a site learns whether the aggregator did anything between two questions, not how much (which
// would tell it about other sites' uploads).
//
// Thread safety: thread-safe; Add is one relaxed atomic add (called per chunk and per tensor).
#ifndef SCANCOV_AGGREGATOR_SERVER_WORK_METER_H_
#define SCANCOV_AGGREGATOR_SERVER_WORK_METER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace scancov::aggregator {

class WorkMeter {
 public:
  WorkMeter();  // draws the salt (OpenSSL's CSPRNG)
  WorkMeter(const WorkMeter&) = delete;
  WorkMeter& operator=(const WorkMeter&) = delete;

  void Add(uint64_t bytes) { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  // 8 bytes; equal tokens mean no bytes were worked through between them.
  std::string Token() const;

 private:
  std::array<unsigned char, 16> salt_{};
  std::atomic<uint64_t> bytes_{0};
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_WORK_METER_H_
