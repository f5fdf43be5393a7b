#include "node/heartbeat.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"

namespace scancov::node {

HeartbeatLoop::HeartbeatLoop(protocol::FederationClient* client, std::string task_id,
                             absl::Duration interval, ClockSkewWatch* watch, Clock* clock,
                             Progress* progress, HeartbeatTally* tally)
    : client_(client),
      task_id_(std::move(task_id)),
      interval_(interval),
      watch_(watch),
      clock_(clock),
      task_progress_(progress),
      tally_(tally) {
  if (client_ != nullptr && interval_ > absl::ZeroDuration())
    thread_ = std::thread([this] { Run(); });
}

HeartbeatLoop::~HeartbeatLoop() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void HeartbeatLoop::set_stage(std::string stage, double progress) {
  absl::MutexLock lock(&mu_);
  stage_ = std::move(stage);
  progress_ = progress;
}

void HeartbeatLoop::Run() {
  bool warned = false;
  do {
    v1::HeartbeatRequest request;
    request.set_task_id(task_id_);
    std::string text = task_progress_ != nullptr ? task_progress_->ReleasedText() : "";
    if (!text.empty()) {
      request.set_stage(std::move(text));
      request.set_progress(task_progress_->ReleasedFraction());
    } else {
      absl::MutexLock lock(&mu_);
      request.set_stage(stage_);
      request.set_progress(progress_);
    }
    const absl::Time sent = clock_->Now();
    absl::StatusOr<v1::HeartbeatResponse> response = client_->Heartbeat(request);
    // Counted whatever the answer: a request that met an error may still have arrived.
    if (tally_ != nullptr) tally_->Add(request, sent, response.ok());
    if (response.ok()) {
      ++sent_;
      if (watch_ != nullptr) {
        watch_->Observe("Heartbeat", response->server_time_unix_ms(), sent, clock_->Now());
      }
      if (!response->task_current() && current_.exchange(false)) {
        const std::string why =
            absl::StrCat("the aggregator no longer counts task '", task_id_,
                         "': its round closed, it expired or its study was aborted");
        spdlog::warn("{}{}", why, task_progress_ != nullptr ? "; the task stops" : "");
        if (task_progress_ != nullptr) task_progress_->Cancel(why);
      }
    } else if (response.status().code() == absl::StatusCode::kUnimplemented) {
      return;  // an aggregator of protocol 1
    } else if (!warned) {
      warned = true;
      spdlog::warn("task '{}': heartbeat failed ({}); retrying", task_id_,
                   std::string(response.status().message()));
    }
  } while (!stop_.WaitForNotificationWithTimeout(interval_));
}

}  // namespace scancov::node
