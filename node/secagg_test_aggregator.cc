#include "node/secagg_test_aggregator.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "node/secagg_session.h"

namespace scancov::node::testing {
namespace {

using privacy::secagg::AdvertList;
using privacy::secagg::KeyAdvert;
using privacy::secagg::MaskedInput;
using privacy::secagg::SecAggResult;
using privacy::secagg::SecAggServer;
using privacy::secagg::ShareBundle;
using privacy::secagg::ShareKeysMessage;
using privacy::secagg::UnmaskRequest;
using privacy::secagg::UnmaskResponse;

SecAggServer MakeServer(const v1::SecAggSession& session) {
  absl::StatusOr<SecAggServer> server = SecAggServer::Create(ConfigFromSession(session));
  if (!server.ok()) {
    std::fprintf(stderr, "SecAggTestAggregator: %s\n", server.status().ToString().c_str());
    std::abort();
  }
  return std::move(*server);
}

std::set<std::string> Participants(const v1::SecAggSession& session) {
  std::set<std::string> ids;
  for (const auto& p : session.participants()) ids.insert(p.site_id());
  return ids;
}

}  // namespace

SecAggTestAggregator::SecAggTestAggregator(v1::SecAggSession session,
                                           std::set<std::string> uploaders)
    : session_(std::move(session)),
      participants_(Participants(session_)),
      uploaders_(std::move(uploaders)),
      server_(MakeServer(session_)) {}

absl::Status SecAggTestAggregator::Receive(const std::string& site, v1::SecAggPhase phase,
                                           const std::string& bytes) {
  switch (phase) {
    case v1::SECAGG_ADVERTISE: {
      SCV_ASSIGN_OR_RETURN(KeyAdvert advert, KeyAdvert::Parse(bytes));
      if (advert.site_id != site) return absl::PermissionDeniedError("advert of another site");
      return server_.ReceiveAdvert(advert);
    }
    case v1::SECAGG_SHARE_KEYS: {
      SCV_ASSIGN_OR_RETURN(ShareKeysMessage shares, ShareKeysMessage::Parse(bytes));
      if (shares.sender != site) return absl::PermissionDeniedError("shares of another site");
      return server_.ReceiveShares(shares);
    }
    case v1::SECAGG_UNMASK: {
      SCV_ASSIGN_OR_RETURN(UnmaskResponse response, UnmaskResponse::Parse(bytes));
      if (response.site_id != site) return absl::PermissionDeniedError("another site's shares");
      return server_.ReceiveUnmaskResponse(response);
    }
    default:
      return absl::OkStatus();  // UNMASK_REQUEST carries nothing
  }
}

absl::Status SecAggTestAggregator::CloseIfComplete(v1::SecAggPhase phase) {
  std::map<std::string, std::string>& answers = answers_[phase];
  if (!answers.empty()) return absl::OkStatus();
  const std::set<std::string>& expected =
      phase == v1::SECAGG_ADVERTISE || phase == v1::SECAGG_SHARE_KEYS ? participants_ : uploaders_;
  if (phase == v1::SECAGG_UNMASK_REQUEST) {
    if (headers_.size() < uploaders_.size()) return absl::OkStatus();
  } else if (sent_[phase] != expected) {
    return absl::OkStatus();
  }
  if (phase == v1::SECAGG_ADVERTISE) {
    SCV_ASSIGN_OR_RETURN(AdvertList list, server_.CloseAdvertising());
    for (const std::string& s : participants_) answers[s] = list.Serialize();
  } else if (phase == v1::SECAGG_SHARE_KEYS) {
    SCV_ASSIGN_OR_RETURN(std::vector<ShareBundle> bundles, server_.CloseSharing());
    for (const ShareBundle& b : bundles) answers[b.recipient] = b.Serialize();
  } else if (phase == v1::SECAGG_UNMASK_REQUEST) {
    SCV_ASSIGN_OR_RETURN(std::vector<UnmaskRequest> requests, server_.CloseMasking());
    for (const UnmaskRequest& r : requests) answers[r.recipient] = r.Serialize();
  } else if (phase == v1::SECAGG_UNMASK) {
    SCV_ASSIGN_OR_RETURN(SecAggResult result, server_.Finish());
    result_ = std::move(result);
    for (const std::string& s : uploaders_) answers[s] = "";
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SecAggResponse> SecAggTestAggregator::SecAgg(const std::string& site,
                                                                const v1::SecAggRequest& request) {
  v1::SecAggResponse response;
  {
    absl::MutexLock lock(&mu_);
    const v1::SecAggPhase phase = request.phase();
    if (phase == v1::SECAGG_SESSION) {
      *response.mutable_session() = session_;
      return response;
    }
    if (sent_[phase].insert(site).second) {
      SCV_RETURN_IF_ERROR(Receive(site, phase, request.message()));
    }
    SCV_RETURN_IF_ERROR(CloseIfComplete(phase));
    auto answer = answers_[phase].find(site);
    if (answer != answers_[phase].end()) {
      response.set_message(answer->second);
      return response;
    }
  }
  response.mutable_wait()->set_wait_ms(200);
  response.mutable_wait()->set_reason("waiting for the other sites");
  // The sites' clocks are fake: give the others a moment of real time before asking again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return response;
}

absl::StatusOr<v1::UploadResponse> SecAggTestAggregator::Upload(
    const std::string& site, const v1::UploadHeader& header, const protocol::TensorSet* weights) {
  if (weights == nullptr) return absl::InvalidArgumentError("a masked upload needs weights");
  SCV_ASSIGN_OR_RETURN(std::vector<uint64_t> ring, RingElements(*weights));
  absl::MutexLock lock(&mu_);
  v1::UploadResponse response;
  if (headers_.count(site) > 0) {
    response.set_duplicate(true);
    return response;
  }
  SCV_RETURN_IF_ERROR(server_.ReceiveMaskedInput(
      MaskedInput{session_.study_id(), session_.round(), site, std::move(ring)}));
  headers_[site] = header;
  response.set_message("masked input accepted");
  return response;
}

std::optional<SecAggResult> SecAggTestAggregator::result() {
  absl::MutexLock lock(&mu_);
  return result_;
}

std::map<std::string, v1::UploadHeader> SecAggTestAggregator::headers() {
  absl::MutexLock lock(&mu_);
  return headers_;
}

}  // namespace scancov::node::testing
