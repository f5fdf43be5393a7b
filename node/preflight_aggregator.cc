// The aggregator and clock checks of `scancov-node check` (node/preflight.h).
//
// The aggregator check first walks the connection step by step (node/tls_probe.h), then makes
// authenticated calls over the node's own gRPC client (the same channel, CRL check included).
// Register writes the site's record (version, device, last seen) and an audit entry, and
// PullTask may hand out a task, so neither can probe. The call is ServerTime, which exists for
// this: the aggregator checks that the caller is an enrolled, enabled site (PERMISSION_DENIED
// otherwise) and answers its clock, writing nothing (only its in-memory "last seen" moves, as on
// any call from the site). A server time in a response field rather than in an error's trailing
// metadata keeps it typed and documented in the .proto like every other field.
//
// An aggregator older than ServerTime answers UNIMPLEMENTED. The check then falls back to what
// it did before: UploadStatus for the empty task id, which checks enrolment the same way and
// then answers NOT_FOUND (no task has that id), also writing nothing; the clock check falls back
// to the aggregator's certificate window.
#include <algorithm>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "node/clock_skew.h"
#include "node/grpc_federation_client.h"
#include "node/preflight.h"
#include "node/tls_probe.h"
#include "sites/pki/certificate_authority.h"

namespace scancov::node {
namespace {

using Stage = TlsProbeResult::Stage;
using Verify = TlsProbeResult::Verify;

CheckResult Fail(std::string detail) {
  return {"aggregator", CheckStatus::kFail, std::move(detail)};
}

std::string Date(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

// Why the handshake failed, in the steward's terms.
CheckResult HandshakeFailure(const sites::SiteConfig& config, const TlsProbeResult& probe,
                             const absl::StatusOr<sites::CertificateInfo>& peer) {
  const std::string who = peer.ok() ? absl::StrCat("the aggregator's certificate (", peer->subject,
                                                   ", issued by ", peer->issuer, ")")
                                    : std::string("the aggregator's certificate");
  switch (probe.verify) {
    case Verify::kUntrusted:
      return Fail(absl::StrCat("TLS: ", who, " is not signed by the CA in ", config.ca_cert, " (",
                               probe.error, "); either ", config.aggregator,
                               " is not the consortium's aggregator or tls.ca is not the "
                               "consortium's CA"));
    case Verify::kNameMismatch:
      return Fail(absl::StrCat(
          "TLS: ", who, " is for ",
          peer.ok() && !peer->hosts.empty() ? absl::StrJoin(peer->hosts, ", ") : "other names",
          ", not '", probe.name,
          "' (host name mismatch); dial one of those names, or set aggregator_tls_name in the "
          "site file"));
    case Verify::kTime:
      return Fail(absl::StrCat("TLS: ", who, " is not valid by this machine's clock (", probe.error,
                               peer.ok() ? absl::StrCat("; valid ", Date(peer->not_before), " to ",
                                                        Date(peer->not_after))
                                         : "",
                               "); check the clock, see the clock line"));
    case Verify::kOk:
    case Verify::kOther:
      break;
  }
  return Fail(absl::StrCat("TLS handshake with ", probe.address, " failed: ", probe.error));
}

// ServerTime, timed by the local clock; the skew in `*skew` when the aggregator sent a time.
// The first call also sets up the channel (TCP and TLS again, after the probe's), which would
// lengthen its round trip and bias the estimate, so a successful first call is followed by a
// second over the established connection, and that one is measured.
absl::Status MeasureServerTime(GrpcFederationClient* client, std::optional<ClockSkew>* skew) {
  for (int call = 0; call < 2; ++call) {
    const absl::Time sent = absl::Now();
    absl::StatusOr<v1::ServerTimeResponse> time = client->ServerTime();
    const absl::Time received = absl::Now();
    if (!time.ok()) return call == 0 ? time.status() : absl::OkStatus();
    *skew = MeasureClockSkew(time->server_time_unix_ms(), sent, received);
  }
  return absl::OkStatus();
}

// The authenticated calls, once TLS works.
CheckResult Call(const sites::SiteConfig& config, absl::Duration timeout,
                 const TlsProbeResult& probe, const std::string& peer_subject,
                 std::optional<ClockSkew>* skew) {
  GrpcClientOptions options;
  options.unary_timeout = std::max(timeout, absl::Seconds(1));
  options.crl = config.crl;
  absl::StatusOr<std::unique_ptr<GrpcFederationClient>> client =
      GrpcFederationClient::Create(config.aggregator, {config.ca_cert, config.cert, config.key},
                                   config.aggregator_tls_name, options);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  absl::Status status = MeasureServerTime(client->get(), skew);
  if (status.code() == absl::StatusCode::kUnimplemented) {
    v1::UploadStatusRequest request;  // task "": see the top of this file
    status = (*client)->UploadStatus(request).status();
  }
  const std::string where =
      absl::StrCat(config.aggregator,
                   probe.address == config.aggregator ? "" : absl::StrCat(" at ", probe.address),
                   " (", peer_subject, ")");
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kNotFound:
      return {"aggregator", CheckStatus::kOk,
              absl::StrCat(where, " accepts site '", config.site_id, "' over mutual TLS")};
    case absl::StatusCode::kPermissionDenied:
      return Fail(absl::StrCat(where, " refuses site '", config.site_id, "': ", status.message(),
                               absl::StrContains(status.message(), "disabled")
                                   ? "; ask the coordinator to enable it (scancov-coord enable)"
                                   : "; ask the coordinator to enrol it (scancov-coord enroll)"));
    case absl::StatusCode::kUnauthenticated:  // e.g. a revoked certificate, on either side
      return Fail(absl::StrCat(where, ": authentication refused: ", status.message()));
    case absl::StatusCode::kUnimplemented:
      return {"aggregator", CheckStatus::kWarn,
              absl::StrCat(where, ": TLS works, but this aggregator is older than the node (",
                           status.message(), "); whether it enrolled the site was not checked")};
    default:
      return Fail(absl::StrCat(where, ": TLS works but the call failed: ", status.message()));
  }
}

}  // namespace

CheckResult CheckAggregator(const sites::SiteConfig& config, absl::Duration timeout,
                            AggregatorClock* seen) {
  AggregatorClock ignored;
  if (seen == nullptr) seen = &ignored;
  const absl::Time deadline = absl::Now() + timeout;
  TlsProbeOptions options;
  options.target = config.aggregator;
  options.server_name = config.aggregator_tls_name;
  options.timeout = timeout;
  for (const auto& [path, field, pem] : {std::tuple{config.ca_cert, "tls.ca", &options.ca_pem},
                                         std::tuple{config.cert, "tls.cert", &options.cert_pem},
                                         std::tuple{config.key, "tls.key", &options.key_pem}}) {
    absl::StatusOr<std::string> text = ReadFileToString(path);
    if (!text.ok()) {
      return Fail(absl::StrCat("not tried: cannot read ", field, ": ", text.status().message()));
    }
    *pem = *std::move(text);
  }
  const TlsProbeResult probe = ProbeTls(options);
  absl::StatusOr<sites::CertificateInfo> peer = absl::NotFoundError("no certificate");
  if (!probe.peer_certificate_pem.empty()) {
    peer = sites::DescribeCertificate(probe.peer_certificate_pem);
    if (peer.ok()) {
      seen->certificate = PeerCertificateWindow{peer->subject, peer->not_before, peer->not_after};
    }
  }
  switch (probe.stage) {
    case Stage::kCredentials:
      return Fail(absl::StrCat("not tried: the site's TLS files cannot be used (", probe.error,
                               "); see the certificate and key lines"));
    case Stage::kResolve:
      return Fail(absl::StrCat("cannot resolve the aggregator '", config.aggregator,
                               "': ", probe.error,
                               "; check 'aggregator' in the site file and this machine's DNS"));
    case Stage::kConnect:
      return Fail(absl::StrCat("no connection to ", config.aggregator, " (", probe.error,
                               "); is the aggregator running on that port, and may this machine "
                               "dial out to it through the hospital's firewall?"));
    case Stage::kHandshake:
      return HandshakeFailure(config, probe, peer);
    case Stage::kPeerRefused:
      return Fail(absl::StrCat("TLS: ", config.aggregator,
                               " refused this site's certificate after the handshake (",
                               probe.error, "): it does not trust the CA that signed ", config.cert,
                               ", or the certificate is revoked"));
    case Stage::kDone:
      break;
  }
  return Call(config, deadline - absl::Now(), probe,
              peer.ok() ? peer->subject : std::string("certificate not described"), &seen->skew);
}

CheckResult CheckClock(const AggregatorClock& aggregator, absl::Time now) {
  const std::string check = "clock";
  const std::string local = absl::StrCat("local time ", Date(now));
  if (aggregator.skew) {
    const absl::Duration off = absl::AbsDuration(aggregator.skew->skew);
    const std::string measured = absl::StrCat(local, ": ", DescribeClockSkew(*aggregator.skew));
    if (off > kMaxClockSkew) {
      return {check, CheckStatus::kFail,
              absl::StrCat(measured, ", more than the ", absl::FormatDuration(kMaxClockSkew),
                           " allowed (certificates and task deadlines are judged by this clock, "
                           "and the ledger and the aggregator's audit log would disagree on "
                           "order); set it right (NTP)")};
    }
    if (off > kClockSkewWarning) {
      return {check, CheckStatus::kWarn,
              absl::StrCat(measured, ", more than ", absl::FormatDuration(kClockSkewWarning),
                           ": not synchronised; set up NTP before it drifts past ",
                           absl::FormatDuration(kMaxClockSkew))};
    }
    return {check, CheckStatus::kOk, measured};
  }
  if (!aggregator.certificate) {
    return {check, CheckStatus::kWarn,
            absl::StrCat(local,
                         "; not compared: the aggregator's certificate was not seen (see "
                         "the aggregator line)")};
  }
  const PeerCertificateWindow& window = *aggregator.certificate;
  if (now < window.not_before) {
    return {
        check, CheckStatus::kWarn,
        absl::StrCat(local, " is before the aggregator's certificate was issued (",
                     Date(window.not_before), "): this clock is at least ",
                     absl::FormatDuration(absl::Trunc(window.not_before - now, absl::Seconds(1))),
                     " behind; set it right (NTP)")};
  }
  if (now >= window.not_after) {
    return {check, CheckStatus::kWarn,
            absl::StrCat(local, " is after the aggregator's certificate expired (",
                         Date(window.not_after),
                         "): this clock is ahead, or the aggregator runs on an expired "
                         "certificate")};
  }
  // No server time: the aggregator is older than ServerTime, or refused or failed the call.
  return {check, CheckStatus::kOk,
          absl::StrCat(local, " is within the aggregator's certificate validity (",
                       Date(window.not_before), " to ", Date(window.not_after),
                       "); the aggregator sent no server time (it is older than this node, or "
                       "the call failed: see the aggregator line), so a smaller skew is not "
                       "measured")};
}

}  // namespace scancov::node
