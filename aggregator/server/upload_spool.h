// UploadSpool: weights uploads streamed to files under the aggregator's state directory, never
// held whole in memory, verified chunk by chunk, resumable from the last verified chunk, and
// read back one tensor at a time.
//
// Files (under `dir`, e.g. "<state>/uploads"), named from hashes so that no part of a name is
// chosen by a site (task ids contain '/'): "<T>_<K>" with T = 16 hex digits of SHA-256(task id)
// (so a task's files are found without an index) and K = SHA-256 of (site, task, payload hash):
//   <T>_<K>.manifest  the upload's manifest (written atomically when the upload starts)
//   <T>_<K>.part      the payload's verified prefix
//   <T>_<K>.sums      the SHA-256 of each chunk in .part, appended after the chunk is flushed
//   <T>_<K>.weights   the finished payload (the .part renamed once everything is verified)
// Durability: each chunk is flushed to the kernel before it counts (so a killed aggregator
// resumes it: the .sums record is written after its data); .part is not fsync'ed per chunk, the
// finished .weights is fsync'ed before the rename. After a crash, the on-disk prefix is
// re-verified against .sums (a torn last chunk is dropped) before anyone resumes from it.
//
// Memory: a chunk at a time while receiving, a tensor at a time when reading back.
#ifndef SCANCOV_AGGREGATOR_SERVER_UPLOAD_SPOOL_H_
#define SCANCOV_AGGREGATOR_SERVER_UPLOAD_SPOOL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aggregator/server/spool_files.h"
#include "core/sha256.h"
#include "protocol/finite_scanner.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {

// One upload: a site's weights for a task, identified by the payload's hash.
struct UploadKey {
  std::string site_id;
  std::string task_id;
  std::string sha256_hex;  // hex SHA-256 of the payload (the manifest's sha256)
};

// An upload a stream is feeding now (UploadSpool::Receiving), for the coordinator's view of
// what each site is doing: identities and counts only.
struct ReceivingUpload {
  std::string site_id;
  std::string task_id;
  uint32_t chunks_verified = 0;
  uint32_t num_chunks = 0;
  uint64_t bytes_verified = 0;
  uint64_t total_bytes = 0;
  uint64_t chunk_bytes = 0;
};

// A finished, verified upload on disk.
struct SpooledWeights {
  std::string path;  // the .weights file
  v1::WeightsManifest manifest;
  std::string sha256_hex;
  uint64_t bytes = 0;  // payload bytes
};

class UploadSpool;

// One in-progress upload, from UploadSpool::Begin. Not thread-safe (one stream feeds it); must
// not outlive its spool. Destroying it before Finish keeps the verified prefix for a resume.
class UploadSession {
 public:
  ~UploadSession();
  UploadSession(const UploadSession&) = delete;
  UploadSession& operator=(const UploadSession&) = delete;

  // The first chunk still needed (the resume point); num_chunks when all are in.
  uint32_t next_chunk() const { return next_; }
  // Appends chunk next_chunk() after checking its index (InvalidArgument), offset and size
  // (InvalidArgument) and SHA-256 (DataLoss). A refused chunk changes nothing.
  absl::Status Add(const v1::WeightsChunk& chunk);
  // All chunks in: the payload's SHA-256 (DataLoss) and every floating element finite
  // (InvalidArgument naming the tensor) are verified, then the file takes its final name. A
  // payload refused here is deleted (resuming it could only fail again). Spent afterwards.
  absl::StatusOr<SpooledWeights> Finish();

 private:
  friend class UploadSpool;
  UploadSession(UploadSpool* spool, std::string base, std::string where,
                v1::WeightsManifest manifest);
  // Finished, resumed or new: what the files on disk say.
  absl::Status Prepare();
  // Re-verifies what .part/.sums hold and truncates them to the verified prefix.
  absl::Status Recover();
  absl::Status OpenForAppend();
  void Discard();

  UploadSpool* spool_;
  const std::string base_;   // "<dir>/<T>_<K>"
  const std::string where_;  // "upload of task '<id>' from site '<id>'"
  const v1::WeightsManifest manifest_;
  uint32_t next_ = 0;
  bool finished_ = false;  // the .weights file already exists (or Finish succeeded)
  bool added_ = false;     // a chunk was added by this session
  spool::File part_;       // .part, open for appending
  spool::File sums_;       // .sums, likewise
  Sha256 payload_hash_;    // over chunks [0, next_)
  protocol::FiniteScanner finite_;
};

// Thread-safe. Open one per directory per process.
class UploadSpool {
 public:
  // Creates `dir` if needed. `limits` bound every manifest (protocol/weights_codec.h).
  static absl::StatusOr<std::unique_ptr<UploadSpool>> Open(std::string dir,
                                                           protocol::ManifestLimits limits);

  // Checks the manifest (CheckManifest with the spool's limits and `expected_layout` when
  // non-null; the key's hash must be the manifest's) before anything is created; then starts a
  // new upload, resumes the partial one of the same key and manifest (a partial one under
  // another manifest is dropped), or, when the upload is already finished, returns a session
  // with next_chunk() == num_chunks whose Finish returns it. ABORTED while another session of
  // the same key is open (an earlier stream not yet cut: retry later).
  absl::StatusOr<std::unique_ptr<UploadSession>> Begin(const UploadKey& key,
                                                       const v1::WeightsManifest& manifest,
                                                       const v1::WeightsManifest* expected_layout);
  // Leading chunks of `chunk_bytes` bytes held verified for `key` (for UploadStatus): all of
  // them when finished; 0 when none or the partial upload has another chunk size; while a
  // session receives it, the chunks verified so far (a node that sent its last chunk watches
  // this count grow while its link drains). The first call after a restart re-verifies the
  // partial file (later ones use what this process saw).
  uint32_t VerifiedChunks(const UploadKey& key, uint32_t chunk_bytes);
  // The uploads a session is receiving now, with the chunks verified so far, in no order.
  std::vector<ReceivingUpload> Receiving();
  // A finished upload of `key`, or NotFound.
  absl::StatusOr<SpooledWeights> Find(const UploadKey& key);
  // An in-memory set through the same path (in-process clients, tests). An empty
  // key.sha256_hex is filled in; a wrong one is refused.
  absl::StatusOr<SpooledWeights> Put(const UploadKey& key, const protocol::TensorSet& set);

  // Deletes a finished upload (after aggregation).
  absl::Status Remove(const SpooledWeights& weights);
  // Deletes every file, partial or finished, of a task (all sites).
  absl::Status RemoveTask(const std::string& task_id);
  uint64_t bytes_on_disk();
  const std::string& dir() const { return dir_; }

 private:
  friend class UploadSession;
  UploadSpool(std::string dir, protocol::ManifestLimits limits)
      : dir_(std::move(dir)), limits_(limits) {}
  std::string Base(const UploadKey& key) const;
  // A session of `base` ended with `verified` chunks kept (nullopt: finished or deleted).
  void Release(const std::string& base, std::optional<uint32_t> verified);
  // A session of `base` holds `verified` chunks now.
  void Publish(const std::string& base, uint32_t verified);

  const std::string dir_;
  const protocol::ManifestLimits limits_;
  absl::Mutex mu_;
  // Bases with a session, with what the coordinator's view shows of them (chunks_verified is
  // read from verified_).
  absl::flat_hash_map<std::string, ReceivingUpload> active_ ABSL_GUARDED_BY(mu_);
  // Verified chunks of partial uploads, and of those a session is receiving, as this process
  // last saw them (base -> chunks).
  absl::flat_hash_map<std::string, uint32_t> verified_ ABSL_GUARDED_BY(mu_);
};

// Reads a spooled payload back one tensor at a time, in manifest order (memory: the largest
// tensor), re-verifying the payload hash as it goes. The hash can only be confirmed after the
// last tensor: on an error (DataLoss: the file changed on disk) the caller discards what `fn`
// built. An error from `fn` stops the read and is returned.
absl::Status ForEachTensor(
    const SpooledWeights& weights,
    const std::function<absl::Status(size_t index, protocol::Tensor tensor)>& fn);
// The whole set in memory (small models, tests).
absl::StatusOr<protocol::TensorSet> LoadSpooled(const SpooledWeights& weights);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_UPLOAD_SPOOL_H_
