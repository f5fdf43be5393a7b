#include "aggregator/server/upload_board.h"

namespace scancov::aggregator {

void UploadBoard::Allow(const std::string& site_id, const std::string& task_id) {
  absl::MutexLock lock(&mu_);
  entries_.try_emplace(Key(site_id, task_id));
}

void UploadBoard::Accepted(const std::string& site_id, const std::string& task_id,
                           const std::string& sha256_hex) {
  absl::MutexLock lock(&mu_);
  entries_[Key(site_id, task_id)] = Entry{true, sha256_hex};
}

std::optional<UploadBoard::Entry> UploadBoard::Find(const std::string& site_id,
                                                    const std::string& task_id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(Key(site_id, task_id));
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void UploadBoard::ForgetSite(const std::string& site_id) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(entries_, [&](const auto& entry) { return entry.first.first == site_id; });
}

void UploadBoard::ForgetTask(const std::string& task_id) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(entries_, [&](const auto& entry) { return entry.first.second == task_id; });
}

size_t UploadBoard::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace scancov::aggregator
