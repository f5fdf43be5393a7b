#include "sites/pki/site_kit.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "sites/config/site_config.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/identity.h"
#include "sites/pki/pki_directory.h"
#include "sites/pki/secure_file.h"

namespace scancov::sites {
namespace {

namespace fs = std::filesystem;

// Where each file of the kit goes. `*_in_config` are the paths as site.json and aggregator.env
// record them: relative to the kit for what is inside it, absolute otherwise.
struct KitLayout {
  std::string out;
  std::string state_dir;
  std::string data_dir;
  std::string state_in_config;  // "state", or the absolute state folder
  std::string data_in_config;   // "data", or the absolute data folder
  std::string key, csr, ca, cert, site_file, start_script, env_file, next_steps;
  std::string key_in_config;
};

std::string Join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).lexically_normal().string();
}

KitLayout MakeLayout(const SiteKitOptions& o) {
  KitLayout k;
  k.out = fs::absolute(o.out).lexically_normal().string();
  k.state_in_config =
      o.state_dir.empty() ? "state" : fs::absolute(o.state_dir).lexically_normal().string();
  k.data_in_config =
      o.data_dir.empty() ? "data" : fs::absolute(o.data_dir).lexically_normal().string();
  k.state_dir = Join(k.out, k.state_in_config);  // an absolute folder replaces `out`
  k.data_dir = Join(k.out, k.data_in_config);
  k.key_in_config = Join(k.state_in_config, o.id + ".key");
  k.key = Join(k.state_dir, o.id + ".key");
  k.csr = Join(k.out, o.id + ".csr");
  k.ca = Join(k.out, "pki/ca.crt");
  k.cert = Join(k.out, "pki/" + o.id + ".crt");
  k.site_file = Join(k.out, "site.json");
  k.start_script = Join(k.out, "start-node.sh");
  k.env_file = Join(k.out, "aggregator.env");
  k.next_steps = Join(k.out, "NEXT-STEPS.txt");
  return k;
}

// HOST:PORT (HOST may be a bracketed IPv6 address); returns HOST and PORT.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--aggregator '", address, "': expected HOST:PORT, e.g. agg.example.org:7443"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

// The CA certificate to copy, refused unless it is one (a site certificate given by mistake
// would make every later check fail far from the cause).
absl::StatusOr<std::string> ReadCaCertificate(const std::string& path) {
  SCV_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(path));
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(pem);
  if (!info.ok()) return Annotate(info.status(), path);
  if (!info->is_ca) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a CA certificate (", info->subject,
                     "); give the consortium CA's certificate, ca.crt of scancov-pki init"));
  }
  return pem;
}

std::vector<std::string> KitFiles(const KitLayout& k, Role role) {
  if (role == Role::kAggregator) return {k.key, k.csr, k.ca, k.env_file, k.next_steps};
  return {k.key, k.csr, k.ca, k.site_file, k.start_script, k.next_steps};
}

absl::Status RefuseExisting(const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(file, ec))) {
      return absl::AlreadyExistsError(absl::StrCat(
          file,
          ": exists; a kit is never replaced by accident (--force makes a new key, and the "
          "request made with the old one is void)"));
    }
  }
  return absl::OkStatus();
}

absl::Status MakePrivateDir(const std::string& dir) {
  SCV_RETURN_IF_ERROR(MakeDirs(dir));
  if (::chmod(dir.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(dir, ": cannot make it 0700"));
  }
  return absl::OkStatus();
}

std::string SiteFileText(const SiteKitOptions& o, const KitLayout& k) {
  const PrivacySettings defaults;
  nlohmann::ordered_json j;
  j["site_id"] = o.id;
  j["aggregator"] = o.aggregator;
  if (!o.aggregator_tls_name.empty()) j["aggregator_tls_name"] = o.aggregator_tls_name;
  j["tls"] = {{"ca", "pki/ca.crt"}, {"cert", "pki/" + o.id + ".crt"}, {"key", k.key_in_config}};
  // Revocation is checked from the start: the CA sends its CRL with the certificate, and the
  // node refuses an aggregator whose certificate it lists (docs/privacy.md).
  j["crl"] = "pki/crl.pem";
  j["data_dir"] = k.data_in_config;
  j["store"] = Join(k.state_in_config, "node.db");
  j["secret"] = Join(k.state_in_config, "site.secret");
  j["cache_dir"] = Join(k.state_in_config, "cache");
  j["device"] = "auto";
  j["log_level"] = "info";
  j["privacy"] = {{"min_cell_count", defaults.min_cell_count},
                  {"allowed_variables", nlohmann::json::array()},
                  {"allow_model_weights", defaults.allow_model_weights},
                  {"max_studies_per_variables", defaults.max_studies_per_variables},
                  {"max_rounds_per_variables", defaults.max_rounds_per_variables},
                  {"max_epsilon", defaults.max_epsilon},
                  {"dp_delta", defaults.dp_delta}};
  return j.dump(2) + "\n";
}

std::string StartScriptText(const SiteKitOptions& o) {
  const std::string program = o.node_program.empty() ? "scancov-node" : o.node_program;
  return absl::StrCat(
      "#!/bin/sh\n"
      "# Starts the Federated ScanCov node of site '",
      o.id,
      "' after its preflight (written by scancov-pki kit).\n"
      "# SCANCOV_NODE overrides the program.\n"
      "set -eu\n"
      "config=\"$(cd \"$(dirname \"$0\")\" && pwd)/site.json\"\n"
      "node=\"${SCANCOV_NODE:-",
      program,
      "}\"\n"
      "if ! \"$node\" --config \"$config\" check; then\n"
      "  echo \"start-node.sh: a check FAILed (above): the node is not started\" >&2\n"
      "  exit 1\n"
      "fi\n"
      "exec \"$node\" --config \"$config\" run\n");
}

std::string SiteNextSteps(const SiteKitOptions& o, const KitLayout& k,
                          const std::string& ca_fingerprint) {
  return absl::StrCat(
      "Site kit for '", o.id, "', made here by scancov-pki kit.\n\n", "  ", k.key,
      "\n      the site's private key (0600). It never leaves this machine.\n", "  ", k.csr,
      "\n      the certificate request: it holds no secret.\n", "  ", k.ca,
      "\n      the consortium CA certificate, sha256 ", ca_fingerprint,
      "\n      (compare it with the CA's, by phone or in person).\n", "  ", k.site_file,
      "\n      the site file; the certificate goes to ", k.cert, ".\n", "  ", k.start_script,
      "\n      runs the preflight, then the node.\n\n", "1. Send ", o.id,
      ".csr to the consortium CA.\n",
      "2. The CA checks it and signs it (CA_DIR: the CA's folder of scancov-pki init):\n",
      "     scancov-pki sign --dir CA_DIR --csr ", o.id, ".csr --role site --id ", o.id, "\n",
      "   and sends back CA_DIR/sites/", o.id, ".crt and its revocation list CA_DIR/crl.pem.\n",
      "3. Put the certificate at ", k.cert, " and the CRL at ", Join(k.out, "pki/crl.pem"),
      "\n   (replace it whenever the CA publishes a new one; the node reloads it).\n",
      "4. Review site.json: privacy, data_dir, device. It has no approval rules: every study\n",
      "   waits for the steward (scancov-node pending / approve / deny).\n",
      "5. Run the preflight; every line must be ok or warn:\n", "     scancov-node --config ",
      k.site_file, " check\n", "6. Start the node: ", k.start_script, "\n",
      "   or as a service (docs/install.md; the unit reads /etc/scancov/site.json, so the kit\n",
      "   for it is made with --out /etc/scancov --state-dir /var/lib/scancov):\n",
      "     sudo chown -R scancov:scancov ", k.state_dir, "\n",
      "     sudo systemctl enable --now scancov-node\n");
}

std::string AggregatorEnvText(const KitLayout& k, int port) {
  return absl::StrCat(
      "# /etc/scancov/aggregator.env: read by scancov-aggregator.service (written by\n"
      "# scancov-pki kit). The unit lets the aggregator bind tcp:7443 only (SocketBindAllow=):\n"
      "# another port needs that line changed too.\n"
      "SCANCOV_LISTEN=0.0.0.0:",
      port, "\nSCANCOV_CA=", k.ca, "\nSCANCOV_CERT=", k.cert, "\nSCANCOV_KEY=", k.key,
      "\n# the consortium's revocation list (scancov-pki crl), reloaded when the file changes\n",
      "# (quoted: systemd and a shell read the value the same way)\n",
      "SCANCOV_AGGREGATOR_OPTS=\"--crl ", Join(k.out, "pki/crl.pem"), "\"\n");
}

std::string AggregatorNextSteps(const SiteKitOptions& o, const KitLayout& k,
                                const std::string& ca_fingerprint) {
  return absl::StrCat(
      "Aggregator kit for '", o.id, "', made here by scancov-pki kit.\n\n", "  ", k.key,
      "  the private key (0600); it never leaves this machine\n", "  ", k.csr,
      "  the certificate request, for the CA\n", "  ", k.ca, "  the CA certificate, sha256 ",
      ca_fingerprint, "\n", "  ", k.env_file, "  for scancov-aggregator.service\n\n", "1. Send ",
      o.id, ".csr to the consortium CA, which signs it:\n",
      "     scancov-pki sign --dir CA_DIR --csr ", o.id, ".csr --role aggregator --id ", o.id,
      "\n2. Put the certificate (CA_DIR/aggregators/", o.id, ".crt) at ", k.cert,
      " and the CA's revocation list (CA_DIR/crl.pem) at ", Join(k.out, "pki/crl.pem"), ".\n",
      "3. As a service (docs/install.md): aggregator.env in /etc/scancov, then\n",
      "     sudo chown -R scancov:scancov ", k.state_dir, "\n",
      "     sudo systemctl enable --now scancov-aggregator\n");
}

absl::Status WriteSiteFiles(const SiteKitOptions& o, const KitLayout& k, Overwrite overwrite,
                            const std::string& ca_fingerprint) {
  const std::string site_text = SiteFileText(o, k);
  // The file must be one the node accepts: checked before anything is written with it.
  SCV_RETURN_IF_ERROR(ParseSiteConfig(site_text, k.out, k.site_file).status());
  SCV_RETURN_IF_ERROR(MakeDirs(k.data_dir));
  SCV_RETURN_IF_ERROR(WriteFileWithMode(k.site_file, site_text, 0644, overwrite));
  SCV_RETURN_IF_ERROR(WriteFileWithMode(k.start_script, StartScriptText(o), 0755, overwrite));
  return WriteFileWithMode(k.next_steps, SiteNextSteps(o, k, ca_fingerprint), 0644, overwrite);
}

}  // namespace

absl::Status PkiKit(const SiteKitOptions& o, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(const Role role, ParseRole(o.role));
  if (role == Role::kCoordinator) {
    return absl::InvalidArgumentError(
        "--role coordinator: a coordinator needs no kit; use scancov-pki request");
  }
  SCV_RETURN_IF_ERROR(ValidateId(o.id));
  SCV_ASSIGN_OR_RETURN(const auto host_port, SplitHostPort(o.aggregator));
  SCV_ASSIGN_OR_RETURN(const std::string ca_pem, ReadCaCertificate(o.ca));
  SCV_ASSIGN_OR_RETURN(const CertificateInfo ca_info, DescribeCertificate(ca_pem));
  const KitLayout k = MakeLayout(o);
  const Overwrite overwrite = o.force ? Overwrite::kAllow : Overwrite::kRefuse;
  if (!o.force) SCV_RETURN_IF_ERROR(RefuseExisting(KitFiles(k, role)));

  SCV_RETURN_IF_ERROR(MakePrivateDir(k.state_dir));
  SCV_RETURN_IF_ERROR(MakeDirs(Join(k.out, "pki")));
  RequestOptions request;
  request.role = role;
  request.id = o.id;
  if (role == Role::kAggregator) request.hosts = {host_port.first};
  SCV_RETURN_IF_ERROR(WriteKeyAndRequest(request, k.key, k.csr, overwrite).status());
  SCV_RETURN_IF_ERROR(WriteFileWithMode(k.ca, ca_pem, 0644, overwrite));
  if (role == Role::kSite) {
    SCV_RETURN_IF_ERROR(WriteSiteFiles(o, k, overwrite, ca_info.sha256_fingerprint));
  } else {
    SCV_RETURN_IF_ERROR(
        WriteFileWithMode(k.env_file, AggregatorEnvText(k, host_port.second), 0644, overwrite));
    SCV_RETURN_IF_ERROR(WriteFileWithMode(
        k.next_steps, AggregatorNextSteps(o, k, ca_info.sha256_fingerprint), 0644, overwrite));
  }
  spdlog::info("kit for {} in {}", ToString({role, o.id}), k.out);
  out << ToString({role, o.id}) << " kit in " << k.out << "\n  key:     " << k.key
      << " (0600; stays here, never send it)\n  request: " << k.csr
      << " (send it to the CA)\n  next:    " << k.next_steps << "\n";
  return absl::OkStatus();
}

}  // namespace scancov::sites
