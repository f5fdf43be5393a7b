#include "node/secagg_step.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::node {
namespace {

using privacy::secagg::SecAggClient;

std::string Where(const v1::Task& task, v1::SecAggPhase phase) {
  return absl::StrCat("secure aggregation, task '", task.task_id(), "', ",
                      v1::SecAggPhase_Name(phase));
}

// The aggregator's Stop before this site's input is in: the site takes no part in the round.
absl::Status StoppedBeforeUpload(const v1::Task& task, v1::SecAggPhase phase,
                                 const v1::Stop& stop) {
  return absl::FailedPreconditionError(absl::StrCat(
      Where(task, phase), ": the aggregator stopped this site's part: ", stop.reason()));
}

// `value`, or its error prefixed with `where`.
template <typename T>
absl::StatusOr<T> In(absl::StatusOr<T> value, const std::string& where) {
  if (!value.ok()) return Annotate(value.status(), where);
  return value;
}

}  // namespace

absl::StatusOr<v1::SecAggResponse> SecAggStep::Exchange(const v1::Task& task, v1::SecAggPhase phase,
                                                        const std::string& message) {
  v1::SecAggRequest request;
  request.set_task_id(task.task_id());
  request.set_phase(phase);
  request.set_message(message);
  const std::string where = Where(task, phase);
  for (;;) {
    if (retrier_->cancelled()) return absl::CancelledError(absl::StrCat(where, ": cancelled"));
    absl::StatusOr<v1::SecAggResponse> response =
        retrier_->Call(where.c_str(), [&] { return client_->SecAgg(request); });
    if (!response.ok()) return Annotate(response.status(), where);
    if (!response->has_wait()) return response;
    const absl::Duration wait =
        absl::Milliseconds(std::max<uint32_t>(50, response->wait().wait_ms()));
    Clock* clock = retrier_->clock();
    if (task.deadline_unix() > 0 &&
        clock->Now() + wait > absl::FromUnixSeconds(task.deadline_unix())) {
      return absl::DeadlineExceededError(absl::StrCat(
          where, ": the round's deadline passed while waiting (", response->wait().reason(), ")"));
    }
    spdlog::debug("{}: waiting {} ({})", where, absl::FormatDuration(wait),
                  response->wait().reason());
    clock->SleepFor(wait);
  }
}

absl::StatusOr<std::string> SecAggStep::ExchangeForMessage(const v1::Task& task,
                                                           v1::SecAggPhase phase,
                                                           const std::string& message) {
  SCV_ASSIGN_OR_RETURN(v1::SecAggResponse response, Exchange(task, phase, message));
  if (response.has_stop()) return StoppedBeforeUpload(task, phase, response.stop());
  if (!response.has_message()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(task, phase), ": the aggregator's answer carries no message"));
  }
  return std::move(*response.mutable_message());
}

absl::StatusOr<SecAggClient> SecAggStep::Join(const v1::Task& task, const SecAggSettings& settings,
                                              uint64_t vector_length) {
  SCV_ASSIGN_OR_RETURN(v1::SecAggResponse response, Exchange(task, v1::SECAGG_SESSION, ""));
  if (response.has_stop()) return StoppedBeforeUpload(task, v1::SECAGG_SESSION, response.stop());
  if (!response.has_session()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(task, v1::SECAGG_SESSION), ": the aggregator's answer is no session"));
  }
  const v1::SecAggSession& session = response.session();
  SCV_RETURN_IF_ERROR(
      CheckSession(session, task, settings, vector_length, me_, retrier_->clock()->Now()));
  spdlog::info("task '{}': secure aggregation with {} sites (threshold {})", task.task_id(),
               session.participants_size(), session.threshold());
  return In(SecAggClient::Create(ConfigFromSession(session), me_.site_id, me_.key_pem, random_),
            Where(task, v1::SECAGG_SESSION));
}

absl::StatusOr<privacy::secagg::MaskedInput> SecAggStep::Mask(const v1::Task& task,
                                                              SecAggClient& client,
                                                              const std::vector<double>& x) {
  using privacy::secagg::AdvertList;
  using privacy::secagg::ShareBundle;
  const std::string advertise = Where(task, v1::SECAGG_ADVERTISE);
  const std::string share = Where(task, v1::SECAGG_SHARE_KEYS);
  SCV_ASSIGN_OR_RETURN(privacy::secagg::KeyAdvert advert, In(client.AdvertiseKeys(), advertise));
  SCV_ASSIGN_OR_RETURN(std::string adverts,
                       ExchangeForMessage(task, v1::SECAGG_ADVERTISE, advert.Serialize()));
  SCV_ASSIGN_OR_RETURN(AdvertList list, In(AdvertList::Parse(adverts), advertise));
  SCV_ASSIGN_OR_RETURN(privacy::secagg::ShareKeysMessage shares,
                       In(client.ShareKeys(list), advertise));
  SCV_ASSIGN_OR_RETURN(std::string bundle_bytes,
                       ExchangeForMessage(task, v1::SECAGG_SHARE_KEYS, shares.Serialize()));
  SCV_ASSIGN_OR_RETURN(ShareBundle bundle, In(ShareBundle::Parse(bundle_bytes), share));
  return In(client.MaskInput(bundle, x), share);
}

absl::Status SecAggStep::Unmask(const v1::Task& task, SecAggClient& client) {
  SCV_ASSIGN_OR_RETURN(v1::SecAggResponse asked, Exchange(task, v1::SECAGG_UNMASK_REQUEST, ""));
  if (asked.has_stop() || !asked.has_message()) {
    spdlog::info("task '{}': the aggregator ended secure aggregation before unmasking: {}",
                 task.task_id(), asked.has_stop() ? asked.stop().reason() : "no request");
    return absl::OkStatus();
  }
  const std::string where = Where(task, v1::SECAGG_UNMASK_REQUEST);
  SCV_ASSIGN_OR_RETURN(privacy::secagg::UnmaskRequest request,
                       In(privacy::secagg::UnmaskRequest::Parse(asked.message()), where));
  SCV_ASSIGN_OR_RETURN(privacy::secagg::UnmaskResponse shares, In(client.Unmask(request), where));
  SCV_ASSIGN_OR_RETURN(v1::SecAggResponse ack,
                       Exchange(task, v1::SECAGG_UNMASK, shares.Serialize()));
  if (ack.has_stop()) {
    spdlog::info("task '{}': the aggregator ended secure aggregation at unmasking: {}",
                 task.task_id(), ack.stop().reason());
  }
  return absl::OkStatus();
}

SecAggStep::Outcome SecAggStep::Run(const v1::Task& task, const SecAggSettings& settings,
                                    const SecAggPayload& payload, const Release& release,
                                    const UploadFn& upload) {
  Outcome out;
  absl::StatusOr<SecAggClient> client = Join(task, settings, payload.vector.size());
  absl::StatusOr<privacy::secagg::MaskedInput> masked =
      client.ok() ? Mask(task, *client, payload.vector) : client.status();
  absl::StatusOr<protocol::TensorSet> tensors =
      masked.ok() ? MaskedTensors(payload.layout, masked->masked) : masked.status();
  if (!tensors.ok()) {
    out.status = tensors.status();
    return out;
  }
  Release sent{payload.header, std::move(*tensors), release.ledger_entry, release.summary_json};
  out.status = upload(sent);
  if (!out.status.ok()) return out;
  out.uploaded = true;
  out.status = Unmask(task, *client);
  return out;
}

}  // namespace scancov::node
