// scancov-pki: runs the consortium certificate authority (see pki_directory.h for the layout).
//
//   scancov-pki init   --dir pki --consortium "Example Consortium" [--days 3650] [--force]
//   scancov-pki issue  --dir pki --role site --id kb [--days 365] [--force]
//   scancov-pki issue  --dir pki --role aggregator --id aggregator --host agg.example.org
//   scancov-pki show   pki/sites/kb.crt
//   scancov-pki verify --dir pki pki/sites/kb.crt
//
// Exit status: 0 on success, 1 on any failure (the reason goes to stderr), 2 on a usage error.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
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
#include "sites/pki/identity.h"
#include "sites/pki/pki_directory.h"
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
  CLI::App* issue_cmd = app.add_subcommand("issue", "issue a key and certificate signed by the CA");
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

  std::string show_file;
  CLI::App* show_cmd = app.add_subcommand("show", "print a certificate's identity and validity");
  show_cmd->add_option("file", show_file, "PEM certificate")->required();

  VerifyFlags verify;
  CLI::App* verify_cmd =
      app.add_subcommand("verify", "verify a certificate against the CA of --dir, now");
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
