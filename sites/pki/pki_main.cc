// scancov-pki: runs the consortium certificate authority (see pki_directory.h for the layout)
// and makes a participant's key and certificate request where the key is used.
//
//   at the CA:
//   scancov-pki init    --dir pki --consortium "Example Consortium" [--days 3650] [--force]
//   scancov-pki sign    --dir pki --csr kb.csr --role site --id kb [--days 365] [--force]
//   scancov-pki revoke  --dir pki --cert pki/sites/kb.crt [--reason keyCompromise]
//   scancov-pki crl     --dir pki [--days 7]
//   at a site (or the aggregator, or the coordinator): the key never leaves it
//   scancov-pki request --role site --id kb --key state/kb.key --csr kb.csr [--force]
//   scancov-pki request --role aggregator --id aggregator --host agg.example.org --key ... --csr
//   ... CA-side key generation, for tests and demos only (the key is made at the CA): scancov-pki
//   issue   --dir pki --role site --id kb [--days 365] [--force] anywhere: scancov-pki show
//   pki/sites/kb.crt scancov-pki verify  --dir pki pki/sites/kb.crt
//
// Exit status: 0 on success, 1 on any failure (the reason goes to stderr), 2 on a usage error.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/certificate_request.h"
#include "sites/pki/identity.h"
#include "sites/pki/pki_directory.h"
#include "sites/pki/revocation.h"
#include "sites/pki/verify.h"

namespace scancov::sites {
namespace {

struct InitFlags {
  std::string dir;
  std::string consortium;
  int days = 3650;
  bool force = false;
};

struct IssueFlags {
  std::string dir;
  std::string role;
  std::string id;
  int days = 365;
  std::vector<std::string> hosts;
  bool force = false;
};

struct RequestFlags {
  std::string role;
  std::string id;
  std::string key;
  std::string csr;
  std::vector<std::string> hosts;
  bool force = false;
};

struct SignFlags {
  std::string dir;
  std::string csr;
  std::string role;
  std::string id;
  int days = 365;
  bool force = false;
};

struct RevokeFlags {
  std::string dir;
  std::string cert;
  std::string reason = "unspecified";
};

struct CrlFlags {
  std::string dir;
  int days = 7;
};

struct VerifyFlags {
  std::string dir;
  std::string file;
};

Overwrite ToOverwrite(bool force) { return force ? Overwrite::kAllow : Overwrite::kRefuse; }

std::string UtcTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

absl::Status RunInit(const InitFlags& flags) {
  const PkiDirectory pki(flags.dir);
  if (flags.force) spdlog::warn("--force: replacing a CA invalidates every certificate it issued");
  CaOptions options;
  options.consortium = flags.consortium;
  options.valid_days = flags.days;
  SCV_ASSIGN_OR_RETURN(CertificateAndKey ca, pki.CreateCa(options, ToOverwrite(flags.force)));
  SCV_ASSIGN_OR_RETURN(CertificateInfo info, DescribeCertificate(ca.certificate_pem));
  spdlog::info("wrote {} (0600) and {}", pki.CaKeyPath(), pki.CaCertificatePath());
  std::cout << "CA " << info.subject << "\n  certificate: " << pki.CaCertificatePath()
            << "\n  key:         " << pki.CaKeyPath() << " (keep offline; never distribute)"
            << "\n  valid until: " << UtcTime(info.not_after)
            << "\n  sha256:      " << info.sha256_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status RunIssue(const IssueFlags& flags) {
  const PkiDirectory pki(flags.dir);
  SCV_ASSIGN_OR_RETURN(Role role, ParseRole(flags.role));
  IssueOptions options;
  options.role = role;
  options.id = flags.id;
  options.valid_days = flags.days;
  options.hosts = flags.hosts;
  SCV_ASSIGN_OR_RETURN(CertificateAndKey issued, pki.Issue(options, ToOverwrite(flags.force)));
  SCV_ASSIGN_OR_RETURN(CertificateInfo info, DescribeCertificate(issued.certificate_pem));
  const PeerIdentity identity{role, flags.id};
  spdlog::info("issued {} ({})", ToString(identity), info.sha256_fingerprint);
  std::cout << ToString(identity) << " " << info.subject
            << "\n  certificate: " << pki.CertificatePath(identity)
            << "\n  key:         " << pki.KeyPath(identity) << " (give to " << flags.id << " only)";
  if (!info.hosts.empty()) std::cout << "\n  hosts:       " << absl::StrJoin(info.hosts, ", ");
  std::cout << "\n  valid until: " << UtcTime(info.not_after)
            << "\n  sha256:      " << info.sha256_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status RunRequest(const RequestFlags& flags) {
  RequestOptions options;
  SCV_ASSIGN_OR_RETURN(options.role, ParseRole(flags.role));
  options.id = flags.id;
  options.hosts = flags.hosts;
  SCV_RETURN_IF_ERROR(
      WriteKeyAndRequest(options, flags.key, flags.csr, ToOverwrite(flags.force)).status());
  std::cout << ToString({options.role, options.id}) << " request\n  key:     " << flags.key
            << " (0600; stays here, never send it)\n  request: " << flags.csr
            << " (send to the CA, which signs it with: scancov-pki sign --csr ... --role "
            << flags.role << " --id " << flags.id << ")\n";
  return absl::OkStatus();
}

absl::Status RunSign(const SignFlags& flags) {
  const PkiDirectory pki(flags.dir);
  SignOptions options;
  SCV_ASSIGN_OR_RETURN(options.role, ParseRole(flags.role));
  options.id = flags.id;
  options.valid_days = flags.days;
  SCV_ASSIGN_OR_RETURN(std::string csr, ReadFileToString(flags.csr));
  absl::StatusOr<SignedRequest> signed_request = pki.Sign(csr, options, ToOverwrite(flags.force));
  if (!signed_request.ok()) return Annotate(signed_request.status(), flags.csr);
  SCV_ASSIGN_OR_RETURN(CertificateInfo info, DescribeCertificate(signed_request->certificate_pem));
  const PeerIdentity identity{options.role, options.id};
  spdlog::info("signed {} ({})", ToString(identity), info.sha256_fingerprint);
  std::cout << ToString(identity) << " " << info.subject
            << "\n  certificate: " << pki.CertificatePath(identity) << " (send back to " << flags.id
            << ")\n  key:         " << signed_request->key_description
            << " (made at the site; the CA never saw the private key)";
  if (!info.hosts.empty()) std::cout << "\n  hosts:       " << absl::StrJoin(info.hosts, ", ");
  std::cout << "\n  serial:      " << info.serial_hex
            << "\n  valid until: " << UtcTime(info.not_after)
            << "\n  sha256:      " << info.sha256_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status RunRevoke(const RevokeFlags& flags) {
  const PkiDirectory pki(flags.dir);
  SCV_ASSIGN_OR_RETURN(RevocationReason reason, ParseRevocationReason(flags.reason));
  SCV_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(flags.cert));
  absl::StatusOr<RevocationRecord> record = pki.Revoke(pem, reason, absl::Now());
  if (!record.ok()) return Annotate(record.status(), flags.cert);
  spdlog::info("revoked serial {} ({})", record->revoked.serial_hex, record->subject);
  std::cout << "revoked " << record->subject << "\n  serial: " << record->revoked.serial_hex
            << "\n  reason: " << ReasonName(reason) << "\n  recorded in "
            << pki.RevocationIndexPath()
            << "; takes effect once a CRL is written (scancov-pki crl) and distributed\n";
  return absl::OkStatus();
}

absl::Status RunCrl(const CrlFlags& flags) {
  const PkiDirectory pki(flags.dir);
  CrlOptions options;
  options.valid_days = flags.days;
  SCV_ASSIGN_OR_RETURN(RevocationList crl, pki.WriteCrl(options));
  spdlog::info("wrote CRL {} ({} revoked)", crl.crl_number(), crl.entries().size());
  std::cout << "CRL " << crl.crl_number() << ": " << pki.CrlPath()
            << "\n  revoked:     " << crl.entries().size()
            << " certificate(s)\n  next update: " << UtcTime(crl.next_update())
            << " (publish a new one before then; give it to the aggregator and every site)\n";
  return absl::OkStatus();
}

absl::Status RunShow(const std::string& file) {
  SCV_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(file));
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(pem);
  if (!info.ok()) return Annotate(info.status(), file);
  const absl::Time now = absl::Now();
  const char* state = now < info->not_before  ? "NOT YET VALID"
                      : now > info->not_after ? "EXPIRED"
                                              : "valid now";
  std::cout << "file:        " << file << "\nsubject:     " << info->subject
            << "\nissuer:      " << info->issuer;
  if (info->is_ca) {
    std::cout << "\nrole:        (certificate authority)";
  } else if (info->identity.ok()) {
    std::cout << "\nrole:        " << RoleName(info->identity->role)
              << "\nid:          " << info->identity->id;
  } else {
    std::cout << "\nidentity:    NONE (" << info->identity.status().message() << ")";
  }
  if (!info->hosts.empty()) std::cout << "\nhosts:       " << absl::StrJoin(info->hosts, ", ");
  std::cout << "\nserial:      " << info->serial_hex
            << "\nnot before:  " << UtcTime(info->not_before)
            << "\nnot after:   " << UtcTime(info->not_after) << "\nstatus:      " << state
            << "\nsha256:      " << info->sha256_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status RunVerify(const VerifyFlags& flags) {
  const PkiDirectory pki(flags.dir);
  SCV_ASSIGN_OR_RETURN(std::string ca_pem, ReadFileToString(pki.CaCertificatePath()));
  SCV_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(flags.file));
  absl::StatusOr<PeerIdentity> identity = VerifyCertificate(pem, ca_pem, absl::Now());
  if (!identity.ok()) return Annotate(identity.status(), flags.file);
  if (std::filesystem::exists(pki.CrlPath())) {
    SCV_ASSIGN_OR_RETURN(std::string crl_pem, ReadFileToString(pki.CrlPath()));
    SCV_ASSIGN_OR_RETURN(RevocationList crl, RevocationList::Parse(crl_pem, ca_pem));
    SCV_RETURN_IF_ERROR(Annotate(crl.CheckCertificate(pem), flags.file));
  }
  std::cout << flags.file << ": OK " << ToString(*identity) << "\n";
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  CLI::App app{"scancov-pki: the consortium certificate authority (EC P-256, mutual TLS)"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();

  InitFlags init;
  CLI::App* init_cmd = app.add_subcommand("init", "create the consortium CA (ca.crt, ca.key)");
  init_cmd->add_option("--dir", init.dir, "PKI directory")->required();
  init_cmd->add_option("--consortium", init.consortium, "consortium name (subject O)")->required();
  init_cmd->add_option("--days", init.days, "CA validity in days")->capture_default_str();
  init_cmd->add_flag("--force", init.force, "replace an existing CA (invalidates all certs)");

  IssueFlags issue;
  CLI::App* issue_cmd = app.add_subcommand(
      "issue",
      "CA-side key generation for tests and demos, NOT for production: makes the key at the CA "
      "(use request at the site and sign at the CA instead)");
  issue_cmd->add_option("--dir", issue.dir, "PKI directory")->required();
  issue_cmd->add_option("--role", issue.role, "site, coordinator or aggregator")
      ->required()
      ->check(CLI::IsMember({"site", "coordinator", "aggregator"}));
  issue_cmd->add_option("--id", issue.id, "id, [a-z0-9][a-z0-9_-]{0,62} (subject CN)")->required();
  issue_cmd->add_option("--days", issue.days, "validity in days")->capture_default_str();
  issue_cmd->add_option("--host", issue.hosts,
                        "extra DNS name or IP for an aggregator (localhost and 127.0.0.1 are "
                        "always included); repeatable");
  issue_cmd->add_flag("--force", issue.force, "replace an existing key and certificate");

  RequestFlags request;
  CLI::App* request_cmd = app.add_subcommand(
      "request", "at the participant: make a private key and a certificate signing request");
  request_cmd->add_option("--role", request.role, "site, coordinator or aggregator")
      ->required()
      ->check(CLI::IsMember({"site", "coordinator", "aggregator"}));
  request_cmd->add_option("--id", request.id, "id, [a-z0-9][a-z0-9_-]{0,62} (subject CN)")
      ->required();
  request_cmd->add_option("--key", request.key, "private key to create (0600; stays here)")
      ->required();
  request_cmd->add_option("--csr", request.csr, "request to create (PEM; send it to the CA)")
      ->required();
  request_cmd->add_option("--host", request.hosts,
                          "extra DNS name or IP for an aggregator; repeatable");
  request_cmd->add_flag("--force", request.force, "replace an existing key and request");

  SignFlags sign;
  CLI::App* sign_cmd = app.add_subcommand(
      "sign", "at the CA: check a request against the role and id given here, and sign it");
  sign_cmd->add_option("--dir", sign.dir, "PKI directory")->required();
  sign_cmd->add_option("--csr", sign.csr, "certificate signing request (PEM)")->required();
  sign_cmd->add_option("--role", sign.role, "the role the CA certifies")
      ->required()
      ->check(CLI::IsMember({"site", "coordinator", "aggregator"}));
  sign_cmd->add_option("--id", sign.id, "the id the CA certifies")->required();
  sign_cmd->add_option("--days", sign.days, "validity in days")->capture_default_str();
  sign_cmd->add_flag("--force", sign.force, "replace an existing certificate");

  RevokeFlags revoke;
  CLI::App* revoke_cmd =
      app.add_subcommand("revoke", "record a certificate's revocation (then run crl)");
  revoke_cmd->add_option("--dir", revoke.dir, "PKI directory")->required();
  revoke_cmd->add_option("--cert", revoke.cert, "the certificate to revoke (PEM)")->required();
  revoke_cmd
      ->add_option("--reason", revoke.reason,
                   "unspecified, keyCompromise, affiliationChanged, superseded, "
                   "cessationOfOperation, privilegeWithdrawn, ...")
      ->capture_default_str();

  CrlFlags crl;
  CLI::App* crl_cmd = app.add_subcommand("crl", "write the signed revocation list <dir>/crl.pem");
  crl_cmd->add_option("--dir", crl.dir, "PKI directory")->required();
  crl_cmd->add_option("--days", crl.days, "days until the next update is due")
      ->capture_default_str();

  std::string show_file;
  CLI::App* show_cmd = app.add_subcommand("show", "print a certificate's identity and validity");
  show_cmd->add_option("file", show_file, "PEM certificate")->required();

  VerifyFlags verify;
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "verify a certificate against the CA of --dir (and its crl.pem), now");
  verify_cmd->add_option("--dir", verify.dir, "PKI directory")->required();
  verify_cmd->add_option("file", verify.file, "PEM certificate")->required();

  CLI11_PARSE(app, argc, argv);

  if (absl::Status status = SetupLogging("pki", log_level); !status.ok()) {
    std::cerr << "scancov-pki: " << status.message() << "\n";
    return 2;
  }
  absl::Status status;
  if (init_cmd->parsed()) status = RunInit(init);
  if (issue_cmd->parsed()) status = RunIssue(issue);
  if (request_cmd->parsed()) status = RunRequest(request);
  if (sign_cmd->parsed()) status = RunSign(sign);
  if (revoke_cmd->parsed()) status = RunRevoke(revoke);
  if (crl_cmd->parsed()) status = RunCrl(crl);
  if (show_cmd->parsed()) status = RunShow(show_file);
  if (verify_cmd->parsed()) status = RunVerify(verify);
  if (!status.ok()) {
    spdlog::error("{}", std::string(status.message()));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace scancov::sites

int main(int argc, char** argv) { return scancov::sites::Main(argc, argv); }
