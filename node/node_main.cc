// scancov-node: the hospital node. It ingests the site's data into a local store, runs the
// tasks the aggregator hands out, and sends only weights and summary statistics, each recorded
// in the egress ledger first.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/cli.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/progress.h"
#include "core/status_macros.h"
#include "models/nn/local_training.h"
#include "models/nn/precision.h"
#include "node/agent.h"
#include "node/approval_commands.h"
#include "node/approvals.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical/column_mapping.h"
#include "node/clinical_source.h"
#include "node/egress_check.h"
#include "node/grpc_federation_client.h"
#include "node/imaging/ct_features.h"
#include "node/imaging/imaging_store.h"
#include "node/imaging/import_pipeline.h"
#include "node/node_commands.h"
#include "node/preflight.h"
#include "node/result_keeper.h"
#include "node/store/node_store.h"
#include "node/store/store_backup.h"
#include "node/task_log.h"
#include "node/tasks/registry.h"
#include "node/tasks/segmentation_runner.h"
#include "node/tasks/severity_runner.h"
#include "node/tasks/store_series_source.h"
#include "node/tasks/task_host.h"
#include "node/tasks/tercile_budget.h"
#include "privacy/dp/dp_ledger.h"
#include "privacy/egress_ledger.h"
#include "privacy/pseudonymizer.h"
#include "protocol/study_kind.h"
#include "sites/config/site_config.h"
#include "sites/pki/revocation_checker.h"

namespace scancov::node {
namespace {

// SIGINT/SIGTERM (systemctl stop) stop the agent between steps, and `run` exits 0 (atomic
// stores only: async-signal-safe).
NodeAgent* g_agent = nullptr;
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void StopAgent(int signal_number) {
  g_stop_signal = signal_number;
  if (g_agent != nullptr) g_agent->Cancel();
}

absl::Status Run(const sites::SiteConfig& config, bool exit_when_idle, int threads) {
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store, NodeStore::Open(config.store));
  privacy::EgressLedger ledger(store->db());
  privacy::dp::DpLedger dp_ledger(store->db());
  TaskLog log(*store);
  ResultKeeper keeper(KeptResultsDir(config.store));  // results wait here for their answer
  GrpcClientOptions client_options;
  client_options.crl = config.crl;
  SCV_ASSIGN_OR_RETURN(
      std::unique_ptr<GrpcFederationClient> client,
      GrpcFederationClient::Create(config.aggregator, {config.ca_cert, config.cert, config.key},
                                   config.aggregator_tls_name, client_options));
  ClinicalDatasetSource source(store.get());
  TercileBudget terciles(store.get());
  ApprovalBook approvals(store.get());
  CohortGuard cohorts(store.get());
  SCV_ASSIGN_OR_RETURN(privacy::Pseudonymizer pseudonymizer,
                       privacy::Pseudonymizer::FromSecretFile(config.secret));
  for (const sites::ApprovalRule& rule : config.approval_rules) {
    for (const std::string& kind : rule.kinds) {
      SCV_RETURN_IF_ERROR(Annotate(protocol::ParseStudyKind(kind).status(),
                                   absl::StrCat("approval rule '", rule.name, "'")));
    }
  }
  std::unique_ptr<LabelledSeriesSource> series =
      MakeStoreSeriesSource(store.get(), config.cache_dir);
  std::unique_ptr<SeveritySource> scans = MakeStoreSeveritySource(store.get(), config.cache_dir);
  NodeResources resources;
  resources.context.site_id = config.site_id;
  resources.context.device = config.device;
  resources.context.threads = threads;
  resources.context.policy.min_cell_count = config.privacy.min_cell_count;
  resources.context.policy.allowed_variables = config.privacy.allowed_variables;
  resources.context.allow_model_weights = config.privacy.allow_model_weights;
  resources.context.tabular = &source;
  resources.context.labelled_series = series.get();
  resources.context.scans = scans.get();
  resources.context.terciles = &terciles;
  resources.context.store = store.get();
  resources.context.split_key = pseudonymizer.SplitKey();
  resources.cohorts = &cohorts;
  resources.max_studies_per_variables = config.privacy.max_studies_per_variables;
  resources.max_rounds_per_variables = config.privacy.max_rounds_per_variables;
  resources.destination = config.aggregator;
  resources.ledger = &ledger;
  resources.dp = {config.privacy.max_epsilon, config.privacy.dp_delta};
  resources.dp_ledger = &dp_ledger;
  resources.approvals = &approvals;
  resources.approval_rules = config.approval_rules;
  TaskHost host(resources, {&MakePlainTasks, &MakeTorchTasks});
  AgentOptions options;
  options.node_version = Version();
  options.device = config.device == "cpu" ? "cpu" : nn::DeviceInfo();
  options.destination = config.aggregator;
  options.exit_when_idle = exit_when_idle;
  options.jitter_seed = std::hash<std::string>()(config.site_id);
  options.keeper = &keeper;
  // Secure aggregation signs with the site's key and verifies the other participants against
  // the consortium CA: both read once, here (errors name the file).
  options.secagg.site_id = config.site_id;
  SCV_ASSIGN_OR_RETURN(options.secagg.key_pem, ReadFileToString(config.key));
  SCV_ASSIGN_OR_RETURN(options.secagg.ca_cert_pem, ReadFileToString(config.ca_cert));
  std::unique_ptr<sites::RevocationChecker> revocations;
  if (!config.crl.empty()) {  // the other participants too must not be revoked
    SCV_ASSIGN_OR_RETURN(revocations,
                         sites::RevocationChecker::Open(options.secagg.ca_cert_pem, config.crl));
    options.secagg.check_revocation = [checker = revocations.get()](absl::string_view pem) {
      return checker->Check(pem);
    };
  }
  NodeAgent agent(client.get(), &host.gate(), &log, options);
  g_agent = &agent;
  std::signal(SIGINT, StopAgent);
  std::signal(SIGTERM, StopAgent);
  spdlog::info("node '{}' ({}) dialing {}", config.site_id, options.device, config.aggregator);
  spdlog::info("BLAS: {}",
               CheckBlas("/proc/self/maps").detail);  // what LibTorch's CPU math runs on
  absl::Status result = agent.Run();
  if (g_stop_signal != 0) {
    spdlog::info("signal {}: stopped after {} task(s)", static_cast<int>(g_stop_signal),
                 agent.tasks_completed());
  }
  g_agent = nullptr;
  return result;
}

// A progress line on stderr every few seconds (counts, rate, ETA; never a name or a path), so
// that stdout keeps only the report.
void PrintProgressToStderr(Progress& progress) {
  progress.PrintEvery(absl::Seconds(5),
                      [](const std::string& line) { std::cerr << line << std::endl; });
}

absl::Status ImportClinical(const sites::SiteConfig& config, const std::string& csv,
                            const std::string& mapping_path, bool skip_bad_rows) {
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store, NodeStore::Open(config.store));
  SCV_ASSIGN_OR_RETURN(privacy::Pseudonymizer pseudonymizer,
                       privacy::Pseudonymizer::FromSecretFile(config.secret));
  std::optional<ColumnMapping> mapping;
  if (!mapping_path.empty()) {
    SCV_ASSIGN_OR_RETURN(mapping, LoadColumnMapping(mapping_path));
  }
  ClinicalImportOptions options;
  options.skip_bad_rows = skip_bad_rows;
  options.mapping = mapping ? &*mapping : nullptr;
  Progress progress;
  PrintProgressToStderr(progress);
  options.progress = &progress;
  SCV_ASSIGN_OR_RETURN(ClinicalImportReport report,
                       ImportClinicalCsv(*store, pseudonymizer, csv, options));
  progress.Finish();
  std::cout << ClinicalImportSummaryText(csv, report);
  return absl::OkStatus();
}

absl::Status ImportDicom(const sites::SiteConfig& config, const std::string& dir) {
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> db, NodeStore::Open(config.store));
  SCV_ASSIGN_OR_RETURN(privacy::Pseudonymizer pseudonymizer,
                       privacy::Pseudonymizer::FromSecretFile(config.secret));
  DicomImportOptions options;
  options.cache_dir = config.cache_dir;
  Progress progress;  // a PACS export takes hours: the steward sees counts and an ETA
  PrintProgressToStderr(progress);
  options.importer.progress = &progress;
  SCV_ASSIGN_OR_RETURN(DicomImportSummary summary,
                       ImportDicomFolder(*db, pseudonymizer, dir, options));
  progress.Finish();
  std::cout << DicomImportSummaryText(dir, summary);
  return absl::OkStatus();
}

absl::Status Status(const sites::SiteConfig& config, bool json) {
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store, NodeStore::Open(config.store));
  const NodeIdentity node{config.site_id, config.aggregator, config.store};
  SCV_ASSIGN_OR_RETURN(std::string text,
                       json ? NodeStatusJson(*store, node) : NodeStatusText(*store, node));
  std::cout << text << (json ? "\n" : "");
  return absl::OkStatus();
}

absl::Status Ledger(const sites::SiteConfig& config, size_t limit, bool check, bool json) {
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store, NodeStore::Open(config.store));
  if (check) {
    privacy::EgressLedger ledger(store->db());
    SCV_ASSIGN_OR_RETURN(std::vector<privacy::EgressEntry> entries, ledger.List(limit));
    const EgressCheck result = CheckEgress(entries, config.privacy.min_cell_count);
    std::cout << EgressCheckText(result, config.privacy.min_cell_count);
    return result.findings.empty() ? absl::OkStatus()
                                   : absl::FailedPreconditionError("ledger check: findings above");
  }
  SCV_ASSIGN_OR_RETURN(std::string text,
                       json ? EgressLedgerJson(*store, limit) : EgressLedgerText(*store, limit));
  std::cout << text << (json ? "\n" : "");
  return absl::OkStatus();
}

absl::Status Budget(const sites::SiteConfig& config) {
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store, NodeStore::Open(config.store));
  SCV_ASSIGN_OR_RETURN(std::string text,
                       BudgetText(*store, config.privacy.max_studies_per_variables,
                                  config.privacy.max_rounds_per_variables));
  std::cout << text;
  SCV_ASSIGN_OR_RETURN(text,
                       DpBudgetText(*store, config.privacy.max_epsilon, config.privacy.dp_delta));
  std::cout << text;
  return absl::OkStatus();
}

absl::Status Requests(const sites::SiteConfig& config, bool only_pending, bool json) {
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store, NodeStore::Open(config.store));
  ApprovalBook book(store.get());
  return PrintRequests(book, only_pending, json, std::cout);
}

absl::Status Decide(const sites::SiteConfig& config, const std::vector<std::string>& studies,
                    const std::string& sha256, bool approve, const std::string& reason) {
  if (studies.size() > 1 && !sha256.empty()) {
    return absl::InvalidArgumentError("--sha256 names one request: give one --study with it");
  }
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store, NodeStore::Open(config.store));
  ApprovalBook book(store.get());
  for (const std::string& study : studies) {
    SCV_RETURN_IF_ERROR(DecideRequest(book, study, sha256, approve, reason,
                                      absl::ToUnixSeconds(absl::Now()), std::cout));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace scancov::node

int main(int argc, char** argv) {
  using namespace scancov;  // NOLINT: a main file
  CLI::App app{
      "scancov-node: a hospital's federated ScanCov node. It only dials out, and only\n"
      "weights and summary statistics leave the site, each recorded in the egress ledger."};
  app.require_subcommand(1);
  std::string config_path, log_level, csv, mapping;
  bool exit_when_idle = false, skip_bad_rows = false;
  size_t limit = 0;
  app.add_option("--config", config_path, "the site file (JSON)")->required();
  app.add_option("--log-level", log_level, "override the site file's log level");
  auto* run = app.add_subcommand("run", "register and run tasks until stopped");
  int threads = 0;
  run->add_option("--threads", threads,
                  "CPU threads of the segmentation tasks: LibTorch's intra-op threads for "
                  "training and inference, and the volume fitting (0: LibTorch's own choice, "
                  "OMP_NUM_THREADS or the physical cores; every core for the fitting)")
      ->check(CLI::Range(0, 1024));
  run->add_flag("--exit-when-idle", exit_when_idle,
                "exit once no running study includes this site");
  auto* import = app.add_subcommand("import-clinical", "import an admission CSV export");
  import->add_option("--csv", csv, "CSV file")->required()->check(CLI::ExistingFile);
  import->add_option("--mapping", mapping, "column mapping JSON for a non-standard export");
  import->add_flag("--skip-bad-rows", skip_bad_rows,
                   "import the good rows and report the bad ones (default: all or nothing)");
  std::string dicom_dir;
  auto* import_dicom = app.add_subcommand("import-dicom", "import the CT series under a folder");
  import_dicom->add_option("--dir", dicom_dir, "folder to walk")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* status = app.add_subcommand("status", "what this node holds and has done");
  bool status_json = false, ledger_json = false;
  status->add_flag("--json", status_json, "as a JSON object (for scripts)");
  auto* ledger = app.add_subcommand("ledger",
                                    "everything that left this site (results, failures, "
                                    "registrations, heartbeats, decision reports)");
  ledger->add_option("--limit", limit, "only the last N entries");
  bool check = false;
  auto* check_flag = ledger->add_flag(
      "--check", check, "decode every entry and check it against the site's disclosure rules");
  ledger->add_flag("--json", ledger_json, "as a JSON array, oldest first (for scripts)")
      ->excludes(check_flag);
  auto* show = app.add_subcommand("show-config", "print the site file with resolved paths");
  auto* budget = app.add_subcommand(
      "budget", "studies and rounds used per variable set, against the site's budget");
  bool json = false, all_requests = false;
  std::string sha256, reason;
  std::vector<std::string> studies;
  auto* pending = app.add_subcommand(
      "pending", "studies asking to run here: what each reads and releases, its spec and hash");
  pending->add_flag("--all", all_requests, "also the approved and denied ones");
  pending->add_flag("--json", json, "as JSON");
  auto* approve = app.add_subcommand("approve",
                                     "approve a pending study (the running node "
                                     "reports it to the aggregator)");
  approve->add_option("--study", studies, "the study id (repeat for several)")->required();
  approve->add_option("--sha256", sha256, "the spec hash, when several versions are pending");
  auto* deny = app.add_subcommand("deny",
                                  "deny a pending study, with a reason the coordinator "
                                  "will read");
  deny->add_option("--study", studies, "the study id (repeat for several)")->required();
  deny->add_option("--sha256", sha256, "the spec hash, when several versions are pending");
  deny->add_option("--reason", reason, "why (sent to the coordinator)")->required();
  std::string backup_dir;
  auto* backup = app.add_subcommand(
      "backup",
      "copy the store and the pseudonymisation secret to a new folder, safely while the node runs");
  backup->add_option("--out", backup_dir, "a new (or empty) folder; it is made 0700")->required();
  backup->footer(
      "The store is copied as one consistent snapshot (its writes still in node.db-wal too), "
      "checked, and written\nwith the secret, the site file and a MANIFEST.txt (SHA-256 of each "
      "file, how to restore).\nExample:\n"
      "  scancov-node --config /etc/scancov/site.json backup --out /backup/scancov/$(date +%F)");
  bool check_json = false;
  double check_timeout_s = 10, min_free_gib = 10;
  auto* preflight = app.add_subcommand(
      "check",
      "preflight before joining: the site file, certificate and key, the store, the aggregator, "
      "the machine; one line per check");
  preflight->add_flag("--json", check_json, "a JSON array of {check, status, detail}");
  preflight->add_option("--timeout", check_timeout_s, "seconds the aggregator check may take")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  preflight
      ->add_option("--min-free-gib", min_free_gib,
                   "warn when less space is free where the store and cache live")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  preflight->footer(
      "Each line: ok, warn or FAIL, the check, then what was found and what to do.\n"
      "Exit codes: 0 no check failed (warnings allowed); 1 at least one FAIL.\n"
      "Example:\n"
      "  scancov-node --config site.json check\n"
      "  ok    certificate-dates  valid until 2026-03-01 09:00 UTC (287 days)\n"
      "  FAIL  key-permissions    state/kb.key has mode 0644: group or others can read or write\n"
      "                           the site's private key; run: chmod 600 state/kb.key\n"
      "  scancov-node --config site.json check --json | jq '.[] | select(.status != \"ok\")'");
  AddVersionAndExitCodes(
      app, "scancov-node",
      "Examples:\n"
      "  scancov-node --config site.json check                     # before joining\n"
      "  scancov-node --config site.json import-clinical --csv admissions.csv --mapping map.json\n"
      "  scancov-node --config site.json import-dicom --dir /media/pacs_export\n"
      "  scancov-node --config site.json pending                   # studies waiting for you\n"
      "  scancov-node --config site.json approve --study table1\n"
      "  scancov-node --config site.json deny --study s7 --reason 'not approved by our board'\n"
      "  scancov-node --config site.json ledger --check            # what left the site\n"
      "  scancov-node --config site.json backup --out /backup/scancov/$(date +%F)\n"
      "The steward's guide: docs/steward-guide.md.\n"
      "`check` exits 1 when a check FAILs (an unusable site file is one of its "
      "checks there, not exit 2); `ledger --check` exits 1 on findings.");
  if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;

  if (*preflight) {  // before the site file is loaded: it is the first thing checked
    if (absl::Status s = SetupLogging("node:check", log_level.empty() ? "warn" : log_level);
        !s.ok()) {
      std::cerr << s.message() << "\n";
      return kExitUsage;
    }
    node::PreflightOptions options;
    options.device_info = nn::DeviceInfo();
    options.bf16_native = nn::NativeBFloat16(options.device_info.rfind("cuda", 0) == 0);
    options.aggregator_timeout = absl::Seconds(check_timeout_s);
    options.min_free_bytes = static_cast<uint64_t>(min_free_gib * (uint64_t{1} << 30));
    return node::RunCheckCommand(config_path, options, check_json, std::cout);
  }

  absl::StatusOr<sites::SiteConfig> config = sites::LoadSiteConfig(config_path);
  if (!config.ok()) {
    std::cerr << "scancov-node: " << config.status().message() << "\n";
    return 2;
  }
  if (absl::Status s = SetupLogging("node:" + config->site_id,
                                    log_level.empty() ? config->log_level : log_level);
      !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  absl::Status result;
  if (*run) result = node::Run(*config, exit_when_idle, threads);
  if (*import) result = node::ImportClinical(*config, csv, mapping, skip_bad_rows);
  if (*import_dicom) result = node::ImportDicom(*config, dicom_dir);
  if (*status) result = node::Status(*config, status_json);
  if (*ledger) result = node::Ledger(*config, limit, check, ledger_json);
  if (*budget) result = node::Budget(*config);
  if (*show) std::cout << sites::SiteConfigToJson(*config) << "\n";
  if (*pending) result = node::Requests(*config, !all_requests, json);
  if (*approve) result = node::Decide(*config, studies, sha256, true, "");
  if (*deny) result = node::Decide(*config, studies, sha256, false, reason);
  if (*backup) {
    absl::StatusOr<node::BackupSummary> written =
        node::BackupStore({config->store, config->secret, config_path}, backup_dir);
    if (written.ok()) std::cout << node::DescribeBackup(*written);
    result = written.status();
  }
  if (!result.ok()) {
    spdlog::error("{}", std::string(result.message()));
    return 1;
  }
  return 0;
}
