#include "node/heartbeat.h"

#include <spdlog/spdlog.h>

namespace scancov::node {

HeartbeatLoop::HeartbeatLoop(protocol::FederationClient* client, std::string task_id,
                             absl::Duration interval)
    : client_(client), task_id_(std::move(task_id)), interval_(interval) {
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
    {
      absl::MutexLock lock(&mu_);
      request.set_stage(stage_);
      request.set_progress(progress_);
    }
    absl::StatusOr<v1::HeartbeatResponse> response = client_->Heartbeat(request);
    if (response.ok()) {
      ++sent_;
      if (!response->task_current() && current_.exchange(false)) {
        spdlog::warn("task '{}': the aggregator no longer counts it (its round closed)", task_id_);
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
