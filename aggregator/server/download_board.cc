#include "aggregator/server/download_board.h"

#include <algorithm>

namespace scancov::aggregator {

DownloadBoard::Tracker::~Tracker() {
  absl::MutexLock lock(&board_->mu_);
  board_->sending_.erase(id_);
}

void DownloadBoard::Tracker::Sent(const v1::WeightsMessage& message) {
  absl::MutexLock lock(&board_->mu_);
  auto it = board_->sending_.find(id_);
  if (it == board_->sending_.end()) return;
  SendingDownload& d = it->second;
  if (message.has_manifest()) {
    d.num_chunks = message.manifest().num_chunks();
    d.total_bytes = message.manifest().total_bytes();
  } else if (message.has_chunk()) {
    d.chunks_sent = std::max(d.chunks_sent, message.chunk().index() + 1);
    d.bytes_sent =
        std::max<uint64_t>(d.bytes_sent, message.chunk().offset() + message.chunk().data().size());
  }
}

std::unique_ptr<DownloadBoard::Tracker> DownloadBoard::Begin(const std::string& site_id,
                                                             const std::string& task_id) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  sending_[id] = SendingDownload{site_id, task_id};
  return std::unique_ptr<Tracker>(new Tracker(this, id));
}

std::vector<SendingDownload> DownloadBoard::Sending() const {
  absl::MutexLock lock(&mu_);
  std::vector<SendingDownload> out;
  out.reserve(sending_.size());
  for (const auto& [id, d] : sending_) out.push_back(d);
  return out;
}

}  // namespace scancov::aggregator
