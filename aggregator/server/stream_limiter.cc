#include "aggregator/server/stream_limiter.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace scancov::aggregator {

StreamLimiter::Ticket& StreamLimiter::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = other.limiter_;
    site_ = std::move(other.site_);
    other.limiter_ = nullptr;
  }
  return *this;
}

void StreamLimiter::Ticket::Release() {
  if (limiter_ != nullptr) limiter_->Release(site_);
  limiter_ = nullptr;
}

absl::StatusOr<StreamLimiter::Ticket> StreamLimiter::Acquire(const std::string& site_id) {
  absl::MutexLock lock(&mu_);
  int& n = active_[site_id];
  if (n >= per_site_) {
    return absl::ResourceExhaustedError(absl::StrCat("site '", site_id, "' already has ", n,
                                                     " streams open, the limit is ", per_site_,
                                                     " per site; retry later"));
  }
  ++n;
  return Ticket(this, site_id);
}

int StreamLimiter::active(const std::string& site_id) {
  absl::MutexLock lock(&mu_);
  auto it = active_.find(site_id);
  return it == active_.end() ? 0 : it->second;
}

void StreamLimiter::Release(const std::string& site_id) {
  absl::MutexLock lock(&mu_);
  auto it = active_.find(site_id);
  if (it == active_.end()) return;
  if (--it->second <= 0) active_.erase(it);
}

}  // namespace scancov::aggregator
