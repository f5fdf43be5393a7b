// DownloadBoard: the model downloads the aggregator is streaming now, for the coordinator's view
// of the sites (ListSites, `scancov-coord sites`, the live page): "downloading task 's1/r3/kb'
// model: chunk 45/120, 11.8 of 31.5 MB". A node downloading its round's model cannot say so in
// a heartbeat before it has the model, and a large model on a slow link takes minutes.
//
// What it holds: the site and task ids of each stream and counts of what was written to it
// (chunks and bytes handed to gRPC: the peer may not have read the last few yet). Nothing of the
// model. A stream's entry lives as long as its Tracker: the DownloadWeights handler holds one
// and it is removed when the stream ends, however it ends.
//
// Thread safety: thread-safe; its mutex is a leaf (nothing else is called while it is held).
#ifndef SCANCOV_AGGREGATOR_SERVER_DOWNLOAD_BOARD_H_
#define SCANCOV_AGGREGATOR_SERVER_DOWNLOAD_BOARD_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

struct SendingDownload {
  std::string site_id;
  std::string task_id;
  // Of the whole model, through the last chunk written (a resumed download starts further on).
  uint32_t chunks_sent = 0;
  uint32_t num_chunks = 0;
  uint64_t bytes_sent = 0;
  uint64_t total_bytes = 0;
};

class DownloadBoard {
 public:
  // One stream's entry; removed from the board when destroyed.
  class Tracker {
   public:
    ~Tracker();
    Tracker(const Tracker&) = delete;
    Tracker& operator=(const Tracker&) = delete;
    // Counts a message written to the stream: the manifest (the totals, and where a resumed
    // download starts) or a chunk.
    void Sent(const v1::WeightsMessage& message);

   private:
    friend class DownloadBoard;
    Tracker(DownloadBoard* board, uint64_t id) : board_(board), id_(id) {}
    DownloadBoard* board_;
    uint64_t id_;
  };

  std::unique_ptr<Tracker> Begin(const std::string& site_id, const std::string& task_id);
  // The streams open now, oldest first.
  std::vector<SendingDownload> Sending() const;

 private:
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, SendingDownload> sending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_DOWNLOAD_BOARD_H_
