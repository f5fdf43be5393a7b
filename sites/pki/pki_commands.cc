#include "sites/pki/pki_commands.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/certificate_request.h"
#include "sites/pki/identity.h"
#include "sites/pki/pki_directory.h"
#include "sites/pki/revocation.h"
#include "sites/pki/verify.h"

namespace scancov::sites {
namespace {

Overwrite ToOverwrite(bool force) { return force ? Overwrite::kAllow : Overwrite::kRefuse; }

std::string UtcTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

}  // namespace

absl::Status PkiInit(const PkiInitOptions& o, std::ostream& out) {
  const PkiDirectory pki(o.dir);
  if (o.force) spdlog::warn("--force: replacing a CA invalidates every certificate it issued");
  CaOptions options;
  options.consortium = o.consortium;
  options.valid_days = o.days;
  SCV_ASSIGN_OR_RETURN(CertificateAndKey ca, pki.CreateCa(options, ToOverwrite(o.force)));
  SCV_ASSIGN_OR_RETURN(CertificateInfo info, DescribeCertificate(ca.certificate_pem));
  spdlog::info("wrote {} (0600) and {}", pki.CaKeyPath(), pki.CaCertificatePath());
  out << "CA " << info.subject << "\n  certificate: " << pki.CaCertificatePath()
      << "\n  key:         " << pki.CaKeyPath() << " (keep offline; never distribute)"
      << "\n  valid until: " << UtcTime(info.not_after)
      << "\n  sha256:      " << info.sha256_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status PkiIssue(const PkiIssueOptions& o, std::ostream& out) {
  const PkiDirectory pki(o.dir);
  SCV_ASSIGN_OR_RETURN(Role role, ParseRole(o.role));
  IssueOptions options;
  options.role = role;
  options.id = o.id;
  options.valid_days = o.days;
  options.hosts = o.hosts;
  SCV_ASSIGN_OR_RETURN(CertificateAndKey issued, pki.Issue(options, ToOverwrite(o.force)));
  SCV_ASSIGN_OR_RETURN(CertificateInfo info, DescribeCertificate(issued.certificate_pem));
  const PeerIdentity identity{role, o.id};
  spdlog::info("issued {} ({})", ToString(identity), info.sha256_fingerprint);
  out << ToString(identity) << " " << info.subject
      << "\n  certificate: " << pki.CertificatePath(identity)
      << "\n  key:         " << pki.KeyPath(identity) << " (give to " << o.id << " only)";
  if (!info.hosts.empty()) out << "\n  hosts:       " << absl::StrJoin(info.hosts, ", ");
  out << "\n  valid until: " << UtcTime(info.not_after)
      << "\n  sha256:      " << info.sha256_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status PkiShow(const std::string& file, absl::Time now, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(file));
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(pem);
  if (!info.ok()) return Annotate(info.status(), file);
  const char* state = now < info->not_before  ? "NOT YET VALID"
                      : now > info->not_after ? "EXPIRED"
                                              : "valid now";
  out << "file:        " << file << "\nsubject:     " << info->subject
      << "\nissuer:      " << info->issuer;
  if (info->is_ca) {
    out << "\nrole:        (certificate authority)";
  } else if (info->identity.ok()) {
    out << "\nrole:        " << RoleName(info->identity->role)
        << "\nid:          " << info->identity->id;
  } else {
    out << "\nidentity:    NONE (" << info->identity.status().message() << ")";
  }
  if (!info->hosts.empty()) out << "\nhosts:       " << absl::StrJoin(info->hosts, ", ");
  out << "\nserial:      " << info->serial_hex << "\nnot before:  " << UtcTime(info->not_before)
      << "\nnot after:   " << UtcTime(info->not_after) << "\nstatus:      " << state
      << "\nsha256:      " << info->sha256_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status PkiVerify(const std::string& dir, const std::string& file, absl::Time now,
                       std::ostream& out) {
  const PkiDirectory pki(dir);
  SCV_ASSIGN_OR_RETURN(std::string ca_pem, ReadFileToString(pki.CaCertificatePath()));
  SCV_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(file));
  absl::StatusOr<PeerIdentity> identity = VerifyCertificate(pem, ca_pem, now);
  if (!identity.ok()) return Annotate(identity.status(), file);
  if (std::filesystem::exists(pki.CrlPath())) {
    SCV_ASSIGN_OR_RETURN(std::string crl_pem, ReadFileToString(pki.CrlPath()));
    SCV_ASSIGN_OR_RETURN(RevocationList crl, RevocationList::Parse(crl_pem, ca_pem));
    SCV_RETURN_IF_ERROR(Annotate(crl.CheckCertificate(pem), file));
  }
  out << file << ": OK " << ToString(*identity) << "\n";
  return absl::OkStatus();
}

absl::Status PkiRequest(const PkiRequestOptions& o, std::ostream& out) {
  RequestOptions options;
  SCV_ASSIGN_OR_RETURN(options.role, ParseRole(o.role));
  options.id = o.id;
  options.hosts = o.hosts;
  SCV_RETURN_IF_ERROR(WriteKeyAndRequest(options, o.key, o.csr, ToOverwrite(o.force)).status());
  out << ToString({options.role, options.id}) << " request\n  key:     " << o.key
      << " (0600; stays here, never send it)\n  request: " << o.csr
      << " (send to the CA, which signs it with: scancov-pki sign --csr ... --role " << o.role
      << " --id " << o.id << ")\n";
  return absl::OkStatus();
}

absl::Status PkiSign(const PkiSignOptions& o, std::ostream& out) {
  const PkiDirectory pki(o.dir);
  SignOptions options;
  SCV_ASSIGN_OR_RETURN(options.role, ParseRole(o.role));
  options.id = o.id;
  options.valid_days = o.days;
  SCV_ASSIGN_OR_RETURN(std::string csr, ReadFileToString(o.csr));
  absl::StatusOr<SignedRequest> signed_request = pki.Sign(csr, options, ToOverwrite(o.force));
  if (!signed_request.ok()) return Annotate(signed_request.status(), o.csr);
  SCV_ASSIGN_OR_RETURN(CertificateInfo info, DescribeCertificate(signed_request->certificate_pem));
  const PeerIdentity identity{options.role, options.id};
  spdlog::info("signed {} ({})", ToString(identity), info.sha256_fingerprint);
  out << ToString(identity) << " " << info.subject
      << "\n  certificate: " << pki.CertificatePath(identity) << " (send back to " << o.id
      << ")\n  key:         " << signed_request->key_description
      << " (made at the site; the CA never saw the private key)";
  if (!info.hosts.empty()) out << "\n  hosts:       " << absl::StrJoin(info.hosts, ", ");
  out << "\n  serial:      " << info.serial_hex << "\n  valid until: " << UtcTime(info.not_after)
      << "\n  sha256:      " << info.sha256_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status PkiRevoke(const PkiRevokeOptions& o, absl::Time now, std::ostream& out) {
  const PkiDirectory pki(o.dir);
  SCV_ASSIGN_OR_RETURN(RevocationReason reason, ParseRevocationReason(o.reason));
  SCV_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(o.cert));
  absl::StatusOr<RevocationRecord> record = pki.Revoke(pem, reason, now);
  if (!record.ok()) return Annotate(record.status(), o.cert);
  spdlog::info("revoked serial {} ({})", record->revoked.serial_hex, record->subject);
  out << "revoked " << record->subject << "\n  serial: " << record->revoked.serial_hex
      << "\n  reason: " << ReasonName(reason) << "\n  recorded in " << pki.RevocationIndexPath()
      << "; takes effect once a CRL is written (scancov-pki crl) and distributed\n";
  return absl::OkStatus();
}

absl::Status PkiCrl(const std::string& dir, int days, std::ostream& out) {
  const PkiDirectory pki(dir);
  CrlOptions options;
  options.valid_days = days;
  SCV_ASSIGN_OR_RETURN(RevocationList crl, pki.WriteCrl(options));
  spdlog::info("wrote CRL {} ({} revoked)", crl.crl_number(), crl.entries().size());
  out << "CRL " << crl.crl_number() << ": " << pki.CrlPath()
      << "\n  revoked:     " << crl.entries().size()
      << " certificate(s)\n  next update: " << UtcTime(crl.next_update())
      << " (publish a new one before then; give it to the aggregator and every site)\n";
  return absl::OkStatus();
}

}  // namespace scancov::sites
