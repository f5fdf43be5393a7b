// scancov-pki: runs the consortium certificate authority (see pki_directory.h for the layout).
//
// At the CA:
//   scancov-pki init    --dir pki --consortium "Example Consortium" [--days 3650] [--force]
//   scancov-pki sign    --dir pki --csr kb.csr --role site --id kb [--days 365]
//   scancov-pki revoke  --dir pki --cert pki/sites/kb.crt [--reason keyCompromise]
//   scancov-pki crl     --dir pki [--days 7]
// At each participant (the key never leaves it):
//   scancov-pki request --role site --id kb --key state/kb.key --csr kb.csr [--force]
//   scancov-pki kit     --id kb --aggregator agg.example.org:7443 --ca ca.crt --out kit
//                       [--role site|aggregator] [--aggregator-tls-name NAME]
//                       [--state-dir DIR] [--data-dir DIR] [--force]
// CA-side key generation, for tests and demos only (the key is made at the CA):
//   scancov-pki issue   --dir pki --role site --id kb [--days 365] [--force]
// Anywhere:
//   scancov-pki show    pki/sites/kb.crt
//   scancov-pki verify  --dir pki pki/sites/kb.crt
//
// Exit status: 0 on success, 1 on any failure (the reason goes to stderr), 2 on a usage error.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "core/cli.h"
#include "core/logging.h"
#include "sites/pki/pki_commands.h"
#include "sites/pki/site_kit.h"

namespace scancov::sites {
namespace {

// scancov-node beside this program (an installed prefix), for the kit's start script; empty
// when there is none there (a build tree): the script then finds scancov-node on PATH.
std::string NodeProgramBesideThis() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const std::filesystem::path node = self.parent_path() / "scancov-node";
  return std::filesystem::exists(node, ec) ? node.string() : "";
}

int Main(int argc, char** argv) {
  CLI::App app{"scancov-pki: the consortium certificate authority (EC P-256, mutual TLS)"};
  scancov::AddVersionAndExitCodes(app, "scancov-pki");
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();

  PkiInitOptions init;
  CLI::App* init_cmd = app.add_subcommand("init", "create the consortium CA (ca.crt, ca.key)");
  init_cmd->add_option("--dir", init.dir, "PKI directory")->required();
  init_cmd->add_option("--consortium", init.consortium, "consortium name (subject O)")->required();
  init_cmd->add_option("--days", init.days, "CA validity in days")->capture_default_str();
  init_cmd->add_flag("--force", init.force, "replace an existing CA (invalidates all certs)");

  PkiIssueOptions issue;
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

  PkiRequestOptions request;
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

  SiteKitOptions kit;
  CLI::App* kit_cmd = app.add_subcommand(
      "kit",
      "at the site (or the aggregator): make its key, its certificate request and the files to "
      "run it (site.json, start-node.sh or aggregator.env, NEXT-STEPS.txt) in --out");
  kit_cmd->add_option("--id", kit.id, "id, [a-z0-9][a-z0-9_-]{0,62} (subject CN)")->required();
  kit_cmd
      ->add_option("--aggregator", kit.aggregator,
                   "HOST:PORT of the aggregator (the one a site dials; an aggregator's own)")
      ->required();
  kit_cmd->add_option("--ca", kit.ca, "the consortium CA certificate (ca.crt)")
      ->required()
      ->check(CLI::ExistingFile);
  kit_cmd->add_option("--out", kit.out, "the kit's folder (created)")->required();
  kit_cmd->add_option("--role", kit.role, "site or aggregator")
      ->capture_default_str()
      ->check(CLI::IsMember({"site", "aggregator"}));
  kit_cmd->add_option("--aggregator-tls-name", kit.aggregator_tls_name,
                      "site: the name to check on the aggregator's certificate, when it is not "
                      "the host of --aggregator");
  kit_cmd->add_option("--state-dir", kit.state_dir,
                      "the key, store, secret and cache (default: <out>/state; a service: "
                      "/var/lib/scancov)");
  kit_cmd->add_option("--data-dir", kit.data_dir,
                      "site: where its DICOM and CSV exports are (default: <out>/data)");
  kit_cmd->add_flag("--force", kit.force,
                    "replace an existing kit, its key included (a request already sent is void)");

  PkiSignOptions sign;
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

  PkiRevokeOptions revoke;
  CLI::App* revoke_cmd =
      app.add_subcommand("revoke", "record a certificate's revocation (then run crl)");
  revoke_cmd->add_option("--dir", revoke.dir, "PKI directory")->required();
  revoke_cmd->add_option("--cert", revoke.cert, "the certificate to revoke (PEM)")->required();
  revoke_cmd
      ->add_option("--reason", revoke.reason,
                   "unspecified, keyCompromise, affiliationChanged, superseded, "
                   "cessationOfOperation, privilegeWithdrawn, ...")
      ->capture_default_str();

  std::string crl_dir;
  int crl_days = 7;
  CLI::App* crl_cmd = app.add_subcommand("crl", "write the signed revocation list <dir>/crl.pem");
  crl_cmd->add_option("--dir", crl_dir, "PKI directory")->required();
  crl_cmd->add_option("--days", crl_days, "days until the next update is due")
      ->capture_default_str();

  std::string show_file;
  CLI::App* show_cmd = app.add_subcommand("show", "print a certificate's identity and validity");
  show_cmd->add_option("file", show_file, "PEM certificate")->required();

  std::string verify_dir, verify_file;
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "verify a certificate against the CA of --dir (and its crl.pem), now");
  verify_cmd->add_option("--dir", verify_dir, "PKI directory")->required();
  verify_cmd->add_option("file", verify_file, "PEM certificate")->required();

  if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;

  if (absl::Status status = SetupLogging("pki", log_level); !status.ok()) {
    std::cerr << "scancov-pki: " << status.message() << "\n";
    return 2;
  }
  absl::Status status;
  if (init_cmd->parsed()) status = PkiInit(init, std::cout);
  if (issue_cmd->parsed()) status = PkiIssue(issue, std::cout);
  if (request_cmd->parsed()) status = PkiRequest(request, std::cout);
  if (kit_cmd->parsed()) {
    kit.node_program = NodeProgramBesideThis();
    status = PkiKit(kit, std::cout);
  }
  if (sign_cmd->parsed()) status = PkiSign(sign, std::cout);
  if (revoke_cmd->parsed()) status = PkiRevoke(revoke, absl::Now(), std::cout);
  if (crl_cmd->parsed()) status = PkiCrl(crl_dir, crl_days, std::cout);
  if (show_cmd->parsed()) status = PkiShow(show_file, absl::Now(), std::cout);
  if (verify_cmd->parsed()) status = PkiVerify(verify_dir, verify_file, absl::Now(), std::cout);
  if (!status.ok()) {
    spdlog::error("{}", std::string(status.message()));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace scancov::sites

int main(int argc, char** argv) { return scancov::sites::Main(argc, argv); }
