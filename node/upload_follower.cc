#include "node/upload_follower.h"

#include <algorithm>
#include <utility>

namespace scancov::node {

UploadFollower::UploadFollower(absl::Duration idle_timeout, uint32_t num_chunks, Ask ask,
                               std::function<void()> on_stall, Clock* clock)
    : idle_timeout_(idle_timeout),
      num_chunks_(num_chunks),
      ask_(std::move(ask)),
      on_stall_(std::move(on_stall)),
      clock_(clock) {
  thread_ = std::thread([this] { Loop(); });
}

UploadFollower::~UploadFollower() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (asking_ != nullptr) asking_->TryCancel();
  }
  thread_.join();
}

bool UploadFollower::fired() {
  absl::MutexLock lock(&mu_);
  return fired_;
}

bool UploadFollower::Moved(const v1::UploadStatusResponse& answer) {
  if (answer.accepted()) return true;
  const int64_t held = answer.verified_chunks();
  // The first answer starts the count. It counts as moving: on the upload's connection the
  // question waited behind the bytes still draining, and the aggregator may not have read them
  // all yet when it answered.
  bool moved = last_held_ < 0 || held > last_held_;
  if (held >= num_chunks_) {
    // Every chunk is held: the aggregator is verifying, storing or folding it, or busy with
    // something else first. Moving while its work token changes; an aggregator before 0.4.0
    // sends none, and a whole upload counts as moving as it did then.
    const std::string& token = answer.work_token();
    moved = moved || token.empty() || token != last_token_;
    last_token_ = token;
  }
  last_held_ = std::max(last_held_, held);
  return moved;
}

void UploadFollower::Loop() {
  // As the stream's watchdog (protocol/progress_watchdog.h): a few questions per idle period.
  const absl::Duration interval =
      std::clamp(idle_timeout_ / 4, absl::Milliseconds(1), absl::Seconds(15));
  absl::Time last_moved = clock_->Now();
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), interval)) {
    grpc::ClientContext context;
    asking_ = &context;
    mu_.Unlock();
    const absl::StatusOr<v1::UploadStatusResponse> answer = ask_(&context);
    mu_.Lock();
    asking_ = nullptr;
    if (stop_) return;
    // The time the question took counts as moving when its answer shows progress.
    const absl::Time now = clock_->Now();
    if (answer.ok() && Moved(*answer)) last_moved = now;
    if (now - last_moved < idle_timeout_) continue;
    fired_ = true;
    mu_.Unlock();
    if (on_stall_) on_stall_();  // outside the lock: it may cancel the call we follow
    mu_.Lock();
    return;
  }
}

}  // namespace scancov::node
