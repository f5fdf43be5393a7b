// UploadFollower: the idle rule for the end of an upload, once its last chunk is written.
//
// After the last chunk nothing moves on the upload's stream until the aggregator answers: what
// is still buffered drains through the link, then the aggregator verifies the payload, stores it
// and folds it into the round (minutes, for a large model on a slow link or a busy aggregator).
// A timer on the stream's messages would cut that call although everything is moving, and the
// node would send again what the aggregator is already working on. The follower instead asks the
// aggregator how the upload stands (`ask`: UploadStatus, every idle_timeout / 4) and counts as
// progress the first answer (on the upload's connection the question waits behind the bytes
// still draining), then an answer that shows
//   - more chunks held than the answer before (the drain goes on),
//   - every chunk held, no result accepted yet, and the aggregator's work token changed since
//     the answer before (it is verifying, storing or folding this upload, or working through
//     what came before it: aggregator/server/work_meter.h), or
//   - the result accepted (the upload's own answer is on its way).
// A hung aggregator (every chunk held, the token the same for idle_timeout) is cut like a silent
// one. An aggregator before 0.4.0 sends no token: every chunk held counts as moving there.
// A question may take as long as its own deadline: on the upload's connection it queues behind
// the bytes still draining. `on_stall` runs (once, on the follower's thread) when idle_timeout
// has passed without progress: questions fail (the aggregator is gone or unreachable), or fewer
// chunks than were sent are held and that count stops moving (the stream was lost on the way).
// An aggregator without UploadStatus gives no progress: the plain idle rule.
//
// Thread safety: fired() may be called from any thread; the destructor cancels a question in
// flight and joins the thread.
#ifndef SCANCOV_NODE_UPLOAD_FOLLOWER_H_
#define SCANCOV_NODE_UPLOAD_FOLLOWER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/env.h"
#include "protocol/scancov.pb.h"

namespace scancov::node {

class UploadFollower {
 public:
  // Asks once, with `context` (the follower may cancel it); sets its own deadline.
  using Ask = std::function<absl::StatusOr<v1::UploadStatusResponse>(grpc::ClientContext* context)>;

  // `num_chunks`: the chunks of the whole payload. Starts following at once.
  UploadFollower(absl::Duration idle_timeout, uint32_t num_chunks, Ask ask,
                 std::function<void()> on_stall, Clock* clock = Clock::Real());
  ~UploadFollower();
  UploadFollower(const UploadFollower&) = delete;
  UploadFollower& operator=(const UploadFollower&) = delete;

  // Whether on_stall ran.
  bool fired();

 private:
  void Loop();
  // Whether `answer` shows the upload moving since the answer before.
  bool Moved(const v1::UploadStatusResponse& answer);

  const absl::Duration idle_timeout_;
  const uint32_t num_chunks_;
  const Ask ask_;
  const std::function<void()> on_stall_;
  Clock* const clock_;
  int64_t last_held_ = -1;  // chunks held at the last answer (follower's thread only)
  std::string last_token_;  // the work token of the last answer with every chunk held (same)
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* asking_ ABSL_GUARDED_BY(mu_) = nullptr;  // the question in flight
  std::thread thread_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_UPLOAD_FOLLOWER_H_
