#include "aggregator/server/secagg_rounds.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

namespace sa = privacy::secagg;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("study spec: privacy.secure_aggregation: ", why));
}

v1::SecAggResponse Stop(const std::string& why) {
  v1::SecAggResponse r;
  r.mutable_stop()->set_reason(why);
  return r;
}

v1::SecAggResponse Message(std::string bytes) {
  v1::SecAggResponse r;
  r.set_message(std::move(bytes));
  return r;
}

uint64_t RandomSeed() {
  uint64_t seed = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof(seed)) != 1) seed = 1;
  return seed;
}

}  // namespace

absl::StatusOr<std::optional<SecAggSettings>> ParseSecAggSettings(const std::string& privacy_json,
                                                                  int num_sites) {
  if (privacy_json.empty()) return std::optional<SecAggSettings>();
  const nlohmann::json options = nlohmann::json::parse(privacy_json, nullptr, false);
  if (!options.is_object() || !options.contains("secure_aggregation")) {
    return std::optional<SecAggSettings>();
  }
  absl::StatusOr<SecAggSettings> settings = sa::ParseStudyOptions(options.at("secure_aggregation"));
  if (!settings.ok()) return Invalid(settings.status().message());
  if (absl::Status fits = sa::CheckStudyOptions(*settings, num_sites); !fits.ok()) {
    return Invalid(fits.message());
  }
  return std::optional<SecAggSettings>(*settings);
}

void SecAggRounds::Open(const std::string& study, uint32_t round,
                        std::vector<std::string> participants, const SecAggSettings& settings,
                        uint64_t vector_length, absl::Time now) {
  Session& s = sessions_[{study, round}];
  if (!s.participants.empty()) return;
  s.settings = settings;
  s.participants = std::move(participants);
  s.vector_length = vector_length;
  s.graph_seed = RandomSeed();
  s.opened = now;
}

void SecAggRounds::Withdraw(const std::string& study, uint32_t round, const std::string& site) {
  Session* s = Find(study, round);
  if (s == nullptr || s->stage != Stage::kSession || s->certificates.count(site) > 0) return;
  s->participants.erase(std::remove(s->participants.begin(), s->participants.end(), site),
                        s->participants.end());
}

bool SecAggRounds::Active(const std::string& study, uint32_t round) const {
  return Find(study, round) != nullptr;
}

void SecAggRounds::Forget(const std::string& study) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->first.first == study ? sessions_.erase(it) : std::next(it);
  }
}

SecAggRounds::Session* SecAggRounds::Find(const std::string& study, uint32_t round) {
  auto it = sessions_.find({study, round});
  return it == sessions_.end() ? nullptr : &it->second;
}

const SecAggRounds::Session* SecAggRounds::Find(const std::string& study, uint32_t round) const {
  auto it = sessions_.find({study, round});
  return it == sessions_.end() ? nullptr : &it->second;
}

bool SecAggRounds::PhaseOver(Session& s, size_t expected, absl::Time now) const {
  if (s.sent.size() >= expected) return true;
  if (s.sent.size() < static_cast<size_t>(s.settings.threshold)) return false;
  if (!s.enough_since) s.enough_since = now;
  return now - *s.enough_since >= phase_wait_;
}

void SecAggRounds::Fail(Session& s, const absl::Status& why) {
  s.stage = Stage::kFailed;
  s.failure = absl::StrCat("secure aggregation failed: ", why.message());
  spdlog::warn("{}", s.failure);
}

absl::Status SecAggRounds::FixSession(Session& s, const std::string& study, uint32_t round) {
  sa::SecAggConfig config;
  config.study_id = study;
  config.round = round;
  config.threshold = s.settings.threshold;
  config.vector_length = s.vector_length;
  config.neighbours = s.settings.neighbours;
  config.graph_seed = s.graph_seed;
  v1::SecAggSession session;
  session.set_study_id(study);
  session.set_round(round);
  for (const std::string& site : s.participants) {
    auto cert = s.certificates.find(site);
    if (cert == s.certificates.end()) continue;  // never asked: not a participant
    config.sites.push_back({site, cert->second});
    v1::SecAggParticipant* p = session.add_participants();
    p->set_site_id(site);
    p->set_certificate_pem(cert->second);
  }
  config.fixed_point = {s.settings.fractional_bits, s.settings.max_abs_value,
                        static_cast<int64_t>(config.sites.size())};
  SCV_ASSIGN_OR_RETURN(sa::SecAggServer server, sa::SecAggServer::Create(config));
  session.set_threshold(s.settings.threshold);
  session.set_vector_length(s.vector_length);
  session.set_fractional_bits(s.settings.fractional_bits);
  session.set_max_abs_value(s.settings.max_abs_value);
  session.set_neighbours(s.settings.neighbours);
  session.set_graph_seed(s.graph_seed);
  s.server.emplace(std::move(server));
  s.session = std::move(session);
  return absl::OkStatus();
}

// Moves the session on as far as the messages received and the time allow.
void SecAggRounds::Advance(Session& s, const std::string& study, uint32_t round, absl::Time now) {
  auto next = [&](Stage stage, size_t expected) {
    s.stage = stage;
    s.sent.clear();
    s.enough_since.reset();
    s.expected = expected;
  };
  if (s.stage == Stage::kSession && PhaseOver(s, s.participants.size(), now)) {
    if (absl::Status fixed = FixSession(s, study, round); !fixed.ok()) return Fail(s, fixed);
    next(Stage::kAdvertising, s.session->participants_size());
  }
  if (s.stage == Stage::kAdvertising && PhaseOver(s, s.expected, now)) {
    absl::StatusOr<sa::AdvertList> list = s.server->CloseAdvertising();
    if (!list.ok()) return Fail(s, list.status());
    s.advert_list = list->Serialize();
    next(Stage::kSharing, list->adverts.size());
  }
  if (s.stage == Stage::kSharing && PhaseOver(s, s.expected, now)) {
    absl::StatusOr<std::vector<sa::ShareBundle>> bundles = s.server->CloseSharing();
    if (!bundles.ok()) return Fail(s, bundles.status());
    for (const sa::ShareBundle& b : *bundles) s.bundles[b.recipient] = b.Serialize();
    next(Stage::kMasking, bundles->size());
  }
}

absl::StatusOr<v1::SecAggResponse> SecAggRounds::Answer(Session& s, const std::string& site,
                                                        v1::SecAggPhase phase,
                                                        absl::Duration wait) const {
  if (s.stage == Stage::kFailed) return Stop(s.failure);
  v1::SecAggResponse waiting;
  waiting.mutable_wait()->set_wait_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(wait)));
  waiting.mutable_wait()->set_reason("secure aggregation: waiting for the other sites");
  switch (phase) {
    case v1::SECAGG_SESSION:
      if (!s.session) return waiting;
      if (s.certificates.count(site) == 0 ||
          std::none_of(s.session->participants().begin(), s.session->participants().end(),
                       [&](const auto& p) { return p.site_id() == site; })) {
        return Stop("secure aggregation: this site joined after the session was fixed");
      }
      {
        v1::SecAggResponse r;
        *r.mutable_session() = *s.session;
        return r;
      }
    case v1::SECAGG_ADVERTISE:
      if (s.stage <= Stage::kAdvertising) return waiting;
      return Message(s.advert_list);
    case v1::SECAGG_SHARE_KEYS: {
      if (s.stage <= Stage::kSharing) return waiting;
      auto it = s.bundles.find(site);
      if (it == s.bundles.end()) return Stop("secure aggregation: this site's shares missed");
      return Message(it->second);
    }
    case v1::SECAGG_UNMASK_REQUEST: {
      if (s.stage <= Stage::kMasking) return waiting;
      auto it = s.requests.find(site);
      if (it == s.requests.end()) return Stop("secure aggregation: this site's input missed");
      return Message(it->second);
    }
    case v1::SECAGG_UNMASK:
      return Message("");
    default:
      return absl::InvalidArgumentError("secagg: unknown phase");
  }
}

// Takes the site's message of the current phase (once; a repeat is answered, not re-read).
absl::Status SecAggRounds::Receive(Session& s, const std::string& site, const std::string& cert,
                                   const v1::SecAggRequest& request) {
  const bool fresh = s.sent.count(site) == 0;
  const std::string& bytes = request.message();
  auto mine = [&](const std::string& claimed, const char* what) -> absl::Status {
    if (claimed == site) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("secagg: a ", what, " of '", claimed, "' sent by '", site, "'"));
  };
  switch (request.phase()) {
    case v1::SECAGG_SESSION:
      if (s.stage != Stage::kSession || !fresh) return absl::OkStatus();
      if (cert.empty()) return absl::FailedPreconditionError("secagg: no client certificate");
      if (std::find(s.participants.begin(), s.participants.end(), site) == s.participants.end()) {
        return absl::PermissionDeniedError("secagg: not a site of this round's session");
      }
      s.certificates[site] = cert;
      break;
    case v1::SECAGG_ADVERTISE: {
      if (s.stage != Stage::kAdvertising || !fresh) return absl::OkStatus();
      SCV_ASSIGN_OR_RETURN(sa::KeyAdvert advert, sa::KeyAdvert::Parse(bytes));
      SCV_RETURN_IF_ERROR(mine(advert.site_id, "key advert"));
      SCV_RETURN_IF_ERROR(s.server->ReceiveAdvert(advert));
      break;
    }
    case v1::SECAGG_SHARE_KEYS: {
      if (s.stage != Stage::kSharing || !fresh) return absl::OkStatus();
      SCV_ASSIGN_OR_RETURN(sa::ShareKeysMessage shares, sa::ShareKeysMessage::Parse(bytes));
      SCV_RETURN_IF_ERROR(mine(shares.sender, "share message"));
      SCV_RETURN_IF_ERROR(s.server->ReceiveShares(shares));
      break;
    }
    case v1::SECAGG_UNMASK: {
      if (s.stage != Stage::kUnmasking || !fresh) return absl::OkStatus();
      SCV_ASSIGN_OR_RETURN(sa::UnmaskResponse response, sa::UnmaskResponse::Parse(bytes));
      SCV_RETURN_IF_ERROR(mine(response.site_id, "unmask response"));
      SCV_RETURN_IF_ERROR(s.server->ReceiveUnmaskResponse(response));
      break;
    }
    case v1::SECAGG_UNMASK_REQUEST:
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError("secagg: unknown phase");
  }
  s.sent.insert(site);
  return absl::OkStatus();
}

absl::StatusOr<v1::SecAggResponse> SecAggRounds::Handle(const std::string& study, uint32_t round,
                                                        const std::string& site,
                                                        const std::string& certificate_pem,
                                                        const v1::SecAggRequest& request,
                                                        absl::Time now, absl::Duration wait) {
  Session* s = Find(study, round);
  if (s == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("secagg: no secure aggregation for study '", study, "' round ", round));
  }
  if (s->stage != Stage::kFailed) {
    SCV_RETURN_IF_ERROR(Receive(*s, site, certificate_pem, request));
    Advance(*s, study, round, now);
  }
  return Answer(*s, site, request.phase(), wait);
}

absl::Status SecAggRounds::CheckMaskedInput(const std::string& study, uint32_t round,
                                            const std::string& site) const {
  const Session* s = Find(study, round);
  if (s == nullptr || s->stage != Stage::kMasking) {
    return absl::FailedPreconditionError(absl::StrCat(
        "secagg: study '", study, "' round ", round, " takes no masked input now",
        s != nullptr && s->stage == Stage::kFailed ? absl::StrCat(" (", s->failure, ")") : ""));
  }
  if (s->bundles.count(site) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("secagg: '", site, "' did not share keys this round: its input is refused"));
  }
  if (s->sent.count(site) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("secagg: a second masked input of '", site, "'"));
  }
  return absl::OkStatus();
}

absl::Status SecAggRounds::NoteMaskedInput(const std::string& study, uint32_t round,
                                           const std::string& site) {
  SCV_RETURN_IF_ERROR(CheckMaskedInput(study, round, site));
  Session& s = *Find(study, round);
  SCV_RETURN_IF_ERROR(s.server->NoteMaskedInput(study, round, site));
  s.sent.insert(site);
  return absl::OkStatus();
}

absl::Status SecAggRounds::CloseMasking(const std::string& study, uint32_t round, absl::Time now) {
  Session* s = Find(study, round);
  if (s == nullptr) return absl::NotFoundError("secagg: no session");
  if (s->stage == Stage::kFailed) return absl::FailedPreconditionError(s->failure);
  if (s->stage != Stage::kMasking) {
    // The round's results are in (or its deadline passed) before masking even opened.
    if (s->stage < Stage::kMasking) {
      Fail(*s, absl::FailedPreconditionError("the round ended before the sites shared keys"));
      return absl::FailedPreconditionError(s->failure);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<sa::UnmaskRequest>> requests = s->server->CloseMasking();
  if (!requests.ok()) {
    Fail(*s, requests.status());
    return absl::FailedPreconditionError(s->failure);
  }
  for (const sa::UnmaskRequest& r : *requests) s->requests[r.recipient] = r.Serialize();
  s->stage = Stage::kUnmasking;
  s->sent.clear();
  s->enough_since.reset();
  s->expected = requests->size();
  (void)now;
  return absl::OkStatus();
}

absl::StatusOr<bool> SecAggRounds::ReadyToFinish(const std::string& study, uint32_t round,
                                                 absl::Time now) {
  Session* s = Find(study, round);
  if (s == nullptr) return absl::NotFoundError("secagg: no session");
  if (s->stage == Stage::kFailed) return absl::FailedPreconditionError(s->failure);
  if (s->stage != Stage::kUnmasking) return s->stage == Stage::kDone;
  return PhaseOver(*s, s->expected, now);
}

absl::StatusOr<sa::SecAggResult> SecAggRounds::Finish(const std::string& study, uint32_t round,
                                                      std::vector<uint64_t> ring_sum) {
  Session* s = Find(study, round);
  if (s == nullptr) return absl::NotFoundError("secagg: no session");
  if (s->stage != Stage::kUnmasking) {
    return absl::FailedPreconditionError("secagg: the unmask phase is not open");
  }
  absl::StatusOr<sa::SecAggResult> result = s->server->FinishWithSum(std::move(ring_sum));
  if (!result.ok()) {
    Fail(*s, result.status());
    return absl::FailedPreconditionError(s->failure);
  }
  s->stage = Stage::kDone;
  return result;
}

std::vector<std::pair<std::string, uint32_t>> SecAggRounds::InUnmasking() const {
  std::vector<Key> out;
  for (const auto& [key, s] : sessions_) {
    if (s.stage == Stage::kUnmasking) out.push_back(key);
  }
  return out;
}

}  // namespace scancov::aggregator
