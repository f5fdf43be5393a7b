#include "node/checked_channel.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "sites/pki/revocation_checker.h"

namespace scancov::node {

absl::StatusOr<std::unique_ptr<CheckedChannel>> CheckedChannel::Open(const std::string& target,
                                                                     const protocol::TlsFiles& tls,
                                                                     const std::string& server_name,
                                                                     const std::string& crl_path) {
  SCV_ASSIGN_OR_RETURN(std::string ca_pem, ReadFileToString(tls.ca_cert));
  absl::StatusOr<std::unique_ptr<sites::RevocationChecker>> checker =
      sites::RevocationChecker::Open(std::move(ca_pem), crl_path);
  if (!checker.ok()) return Annotate(checker.status(), "node: CRL");
  std::unique_ptr<CheckedChannel> channel(
      new CheckedChannel(target, tls, server_name, std::move(*checker)));
  SCV_RETURN_IF_ERROR(channel->Get().status());
  return channel;
}

CheckedChannel::CheckedChannel(std::string target, protocol::TlsFiles tls, std::string server_name,
                               std::shared_ptr<sites::RevocationChecker> checker)
    : target_(std::move(target)),
      tls_(std::move(tls)),
      server_name_(std::move(server_name)),
      checker_(std::move(checker)),
      verdict_(std::make_shared<Verdict>()) {}

CheckedChannel::~CheckedChannel() = default;

absl::StatusOr<std::shared_ptr<grpc::Channel>> CheckedChannel::Make() {
  // The check may outlive this object inside gRPC, hence the shared pointers it holds.
  protocol::ServerCertificateCheck check = [checker = checker_,
                                            verdict = verdict_](absl::string_view pem) {
    absl::Status status = checker->Check(pem);
    if (!status.ok()) {
      status = absl::UnauthenticatedError(
          absl::StrCat("aggregator certificate refused by this node: ", status.message()));
    }
    absl::MutexLock lock(&verdict->mu);
    verdict->refusal = status;
    return status;
  };
  return protocol::MakeMtlsChannel(target_, tls_, server_name_, 0, std::move(check));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CheckedChannel::Get() {
  const uint64_t crl_number = checker_->crl_number();  // reloads a changed file
  absl::MutexLock lock(&mu_);
  if (channel_ == nullptr || crl_number != channel_crl_number_) {
    SCV_ASSIGN_OR_RETURN(channel_, Make());
    channel_crl_number_ = crl_number;
  }
  return channel_;
}

absl::Status CheckedChannel::Explain(absl::Status status) const {
  if (status.code() != absl::StatusCode::kUnavailable) return status;
  absl::MutexLock lock(&verdict_->mu);
  return verdict_->refusal.ok() ? status : verdict_->refusal;
}

}  // namespace scancov::node
