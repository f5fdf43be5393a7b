#include "bench/federation_load/sim_site.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/agent.h"

namespace scancov::bench {
namespace {

// The status of a call's StatusOr.
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace

double SecondsSince(absl::Time epoch) { return absl::ToDoubleSeconds(absl::Now() - epoch); }

void RoundMarks::Saw(uint32_t round) {
  absl::MutexLock lock(&mu_);
  if (opened_.count(round) > 0) return;
  opened_[round] = SecondsSince(epoch_);
  if (on_first_) on_first_(round);
}

std::map<uint32_t, double> RoundMarks::opened() const {
  absl::MutexLock lock(&mu_);
  return opened_;
}

bool SimSite::Stopping() const {
  return (options_.stop != nullptr && options_.stop->load()) || absl::Now() > options_.deadline;
}

template <typename Fn>
auto SimSite::Retry(const char* what, std::vector<std::string>* errors, Fn&& fn) -> decltype(fn()) {
  absl::Duration backoff = absl::Milliseconds(200);
  for (int attempt = 1;; ++attempt) {
    const double start = Now();
    auto result = fn();
    const absl::Status& s = StatusOf(result);
    if (s.ok()) return result;
    errors->push_back(absl::StrFormat("%s after %.1f s: %s", what, Now() - start, s.ToString()));
    if (!node::IsTransient(s) || attempt >= options_.attempts_per_call || Stopping()) return result;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

void SimSite::Run() {
  auto client =
      node::GrpcFederationClient::Create(options_.target, options_.tls, "", options_.client);
  if (!client.ok()) {
    error_ = client.status().ToString();
    return;
  }
  client_ = std::move(*client);
  std::vector<std::string> errors;
  v1::RegisterRequest request;
  request.set_node_version("bench_federation_load");
  request.set_device("cpu");
  request.set_protocol_version(v1::PROTOCOL_VERSION_1);  // as the agent
  absl::StatusOr<v1::RegisterResponse> registered =
      Retry("Register", &errors, [&] { return client_->Register(request); });
  if (!registered.ok()) {
    error_ = registered.status().ToString();
    return;
  }
  if (options_.registered != nullptr) ++*options_.registered;
  while (!Stopping()) {
    const bool study_live = options_.study_created != nullptr && options_.study_created->load();
    absl::StatusOr<v1::PullTaskResponse> action =
        Retry("PullTask", &errors, [&] { return client_->PullTask(); });
    if (!action.ok()) {
      error_ = action.status().ToString();
      return;
    }
    if (action->has_stop()) return;
    if (action->has_task()) {
      if (!RunTask(action->task())) return;
      continue;
    }
    if (action->wait().idle() && study_live) return;  // no running study includes the site
    absl::SleepFor(absl::Milliseconds(std::max<uint32_t>(50, action->wait().wait_ms())));
  }
}

bool SimSite::RunTask(const v1::Task& task) {
  SiteTask rec;
  rec.site_id = options_.site_id;
  rec.round = task.round();
  rec.kind = task.kind();
  rec.pulled = Now();
  if (options_.marks != nullptr) options_.marks->Saw(task.round());
  protocol::TensorSet global;
  if (!task.checkpoint_id().empty()) {
    absl::StatusOr<protocol::TensorSet> downloaded = Retry("DownloadWeights", &rec.errors, [&] {
      return client_->DownloadWeights(task.task_id(), task.checkpoint_id());
    });
    if (!downloaded.ok()) {
      rec.downloaded = rec.worked = rec.uploaded = Now();
      tasks_.push_back(std::move(rec));
      return true;
    }
    global = std::move(*downloaded);
    rec.download_bytes = global.TotalBytes();
  }
  rec.downloaded = Now();
  std::optional<protocol::TensorSet> weights;
  v1::UploadHeader header;
  header.set_task_id(task.task_id());
  header.set_num_samples(options_.num_samples);
  switch (task.kind()) {
    case v1::TASK_KIND_INIT_MODEL:
      weights = MakeModel(*options_.init_layout, 7);
      break;
    case v1::TASK_KIND_TRAIN:
      weights = MakeUpdate(global, options_.seed * 1000003 + task.round());
      (*header.mutable_metrics())["local.train_loss"] = 0.5;
      break;
    default:  // EVALUATE
      (*header.mutable_metrics())["global.val_auc"] = 0.75;
      break;
  }
  global = protocol::TensorSet();  // a node holds one copy of the model while it uploads
  rec.worked = Now();
  if (weights) rec.upload_bytes = weights->TotalBytes();
  absl::StatusOr<v1::UploadResponse> answer = Retry("UploadResult", &rec.errors, [&] {
    return client_->UploadResult(header, weights ? &*weights : nullptr);
  });
  rec.uploaded = Now();
  rec.accepted = answer.ok() && answer->accepted();
  if (answer.ok() && !answer->accepted()) rec.errors.push_back("refused: " + answer->message());
  tasks_.push_back(std::move(rec));
  if (!answer.ok() && options_.end_on_failed_upload) {
    error_ = "gave up after the failed upload of task " + task.task_id();
    return false;
  }
  return true;
}

}  // namespace scancov::bench
