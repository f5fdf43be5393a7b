// UploadBoard: what UploadStatus needs to answer without the federation's lock.
//
// The federation's mutex is held through a submission's validation, storage and aggregation:
// seconds to minutes for a large model on a busy aggregator. A node that has sent its last chunk
// follows its upload by asking UploadStatus (node/upload_follower.h) and must not wait behind
// that work, or it would take the wait for a stalled aggregator and cut its own upload.
//
// The board keeps, per (site, task), only what the federation decided under its lock: that the
// site may ask about the task (enrolled, enabled, its task), and the payload hash of the result
// accepted for it, once the transaction that stored that result has committed. The federation
// writes it under its lock and reads it without; a pair the board does not know is answered
// under the lock (and recorded). How many chunks are held comes from the spool, which has its
// own lock.
//
// Entries are forgotten when a site is disabled (its next question goes through the lock, which
// refuses it) and when a task's round is aggregated and pruned (the store still answers for it).
//
// Thread safety: thread-safe; its mutex is a leaf (nothing else is called while it is held).
#ifndef SCANCOV_AGGREGATOR_SERVER_UPLOAD_BOARD_H_
#define SCANCOV_AGGREGATOR_SERVER_UPLOAD_BOARD_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace scancov::aggregator {

class UploadBoard {
 public:
  struct Entry {
    bool accepted = false;        // a result of the task is stored
    std::string accepted_sha256;  // its weights' hex SHA-256 ("" for a result without weights)
  };

  // The site may ask about the task (checked by the caller under the federation's lock).
  void Allow(const std::string& site_id, const std::string& task_id);
  // A result of the task, with these weights, is stored (committed).
  void Accepted(const std::string& site_id, const std::string& task_id,
                const std::string& sha256_hex);
  // nullopt: unknown here, ask the federation under its lock.
  std::optional<Entry> Find(const std::string& site_id, const std::string& task_id) const;
  void ForgetSite(const std::string& site_id);
  void ForgetTask(const std::string& task_id);
  size_t size() const;

 private:
  using Key = std::pair<std::string, std::string>;  // site, task
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_UPLOAD_BOARD_H_
