// StreamLimiter: at most `per_site` concurrent streams (uploads, downloads) per site, so that
// one site (or a hostile one opening streams it never finishes) cannot hold the aggregator's
// threads, memory or disk bandwidth while others wait.
//
//   SCV_ASSIGN_OR_RETURN(StreamLimiter::Ticket ticket, limiter.Acquire(caller.id));
//   ...  // the stream; the ticket's destructor frees the slot
//
// Thread-safe; the limiter must outlive its tickets.
#ifndef SCANCOV_AGGREGATOR_SERVER_STREAM_LIMITER_H_
#define SCANCOV_AGGREGATOR_SERVER_STREAM_LIMITER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace scancov::aggregator {

class StreamLimiter {
 public:
  // One held slot; movable, released on destruction.
  class Ticket {
   public:
    Ticket() = default;
    ~Ticket() { Release(); }
    Ticket(Ticket&& other) noexcept : limiter_(other.limiter_), site_(std::move(other.site_)) {
      other.limiter_ = nullptr;
    }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    void Release();

   private:
    friend class StreamLimiter;
    Ticket(StreamLimiter* limiter, std::string site) : limiter_(limiter), site_(std::move(site)) {}
    StreamLimiter* limiter_ = nullptr;
    std::string site_;
  };

  explicit StreamLimiter(int per_site) : per_site_(per_site) {}

  // A slot for one of `site_id`'s streams, or RESOURCE_EXHAUSTED naming the site and the limit
  // (the node retries later).
  absl::StatusOr<Ticket> Acquire(const std::string& site_id);
  int active(const std::string& site_id);
  int per_site() const { return per_site_; }

 private:
  void Release(const std::string& site_id);

  const int per_site_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> active_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_STREAM_LIMITER_H_
