// scancov-coord: the consortium coordinator's command line. Flags here; what each command does
// is in the coordinator library (coord_commands.h, study_wait.h, validate_command.h,
// export_commands.h, ui_server.h).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "aggregator/coordinator/audit_command.h"
#include "aggregator/coordinator/coord_commands.h"
#include "aggregator/coordinator/coordinator_api.h"
#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/coordinator/export_commands.h"
#include "aggregator/coordinator/study_wait.h"
#include "aggregator/coordinator/ui_server.h"
#include "aggregator/coordinator/validate_command.h"
#include "core/cli.h"
#include "core/logging.h"

namespace {

struct Connection {
  std::string aggregator = "127.0.0.1:7443";
  std::string tls_name;
  std::string ca, cert, key;
};

absl::Status Fail(const absl::Status& s) {
  spdlog::error("{}", std::string(s.message()));
  return s;
}

// `scancov-coord ui`: serves the live page until SIGINT or SIGTERM. The signals are blocked
// before the server's threads start (they inherit the mask) and taken here with sigwait.
absl::Status ServeUi(scancov::aggregator::CoordinatorApi& api,
                     scancov::aggregator::CoordinatorClient* client, int port) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  scancov::aggregator::UiServerOptions options;
  options.port = port;
  options.read_audit = [client](int64_t after) { return client->ReadAudit(after, 500); };
  auto server = scancov::aggregator::UiServer::Start(&api, std::move(options));
  if (!server.ok()) return server.status();
  std::cout << "scancov-coord ui: open " << (*server)->Url() << "\n"
            << "(this machine only; the token is the key to the page: do not share it; "
               "Ctrl-C stops)"
            << std::endl;
  int signal = 0;
  sigwait(&stop, &signal);
  (*server)->Stop();
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "scancov-coord: enrol sites, launch studies and read their reports.\n"
      "Connects to the aggregator over mutual TLS with the coordinator certificate."};
  scancov::AddVersionAndExitCodes(
      app, "scancov-coord",
      "Examples:\n"
      "  scancov-coord --ca ca.pem --cert coord.pem --key coord.key sites --json | "
      "jq '.[] | select(.online | not) | .site_id'\n"
      "  scancov-coord ... create-study --spec study.json --dry-run\n"
      "  scancov-coord ... watch --study s1 --report reports/s1\n"
      "  scancov-coord ... abort --study s1 --reason 'wrong outcome variable'\n"
      "  export SCANCOV_AGGREGATOR=agg.example.org:7443 SCANCOV_CA=ca.crt SCANCOV_CERT=alice.crt "
      "SCANCOV_KEY=alice.key\n"
      "  scancov-coord studies            # the connection flags from those variables\n"
      "The coordinator's guide: docs/coordinator-guide.md.");
  app.require_subcommand(1);
  Connection conn;
  std::string log_level = "warn";
  // Each also from the environment, so that a coordinator sets them once per shell (the
  // coordinator's guide, docs/coordinator-guide.md); a flag wins over its variable.
  app.add_option("--aggregator", conn.aggregator, "aggregator host:port")
      ->envname("SCANCOV_AGGREGATOR")
      ->capture_default_str();
  app.add_option("--tls-name", conn.tls_name, "name to check on the aggregator certificate")
      ->envname("SCANCOV_TLS_NAME");
  app.add_option("--ca", conn.ca, "consortium CA certificate (PEM)")
      ->envname("SCANCOV_CA")
      ->required();
  app.add_option("--cert", conn.cert, "coordinator certificate (PEM)")
      ->envname("SCANCOV_CERT")
      ->required();
  app.add_option("--key", conn.key, "coordinator private key (PEM)")
      ->envname("SCANCOV_KEY")
      ->required();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();

  std::string site, name, spec_file, study, out_dir;
  double interval = 2, timeout = 3600;
  auto* enroll = app.add_subcommand("enroll", "enrol a site (its certificate CN)");
  enroll->add_option("--site", site, "site id")->required();
  enroll->add_option("--name", name, "display name");
  std::string coordinator, reason;
  auto* disable =
      app.add_subcommand("disable", "refuse a site's or a coordinator's calls from now on");
  auto* enable = app.add_subcommand("enable", "accept a disabled site or coordinator again");
  for (CLI::App* cmd : {disable, enable}) {
    auto* s = cmd->add_option("--site", site, "site id");
    auto* c = cmd->add_option("--coordinator", coordinator, "coordinator id (certificate CN)");
    s->excludes(c);
    cmd->add_option("--reason", reason, "why (kept in the audit log)");
  }
  bool audit_json = false;
  std::string expect_head;
  auto* audit = app.add_subcommand(
      "audit", "read the aggregator's audit log, verify its hash chain here and print it");
  audit->add_flag("--json", audit_json, "as JSON");
  audit->add_option("--expect-head", expect_head,
                    "a head hash printed by an earlier run: fail if it is no longer in the log");
  bool json = false;
  auto* sites = app.add_subcommand(
      "sites", "list enrolled sites: enabled, online, last seen, device, what each is doing");
  sites->add_flag("--json", json, "as a JSON array of objects (for scripts)");
  bool dry_run = false;
  auto* create = app.add_subcommand("create-study", "create a study from a JSON study spec");
  create
      ->add_option("--spec", spec_file,
                   "study spec file (JSON: the StudySpec fields, \"spec\" and \"privacy\" as "
                   "objects; docs/studies.md)")
      ->required();
  create->add_flag("--dry-run", dry_run,
                   "have the aggregator check the spec without creating the study, and print "
                   "what each site's steward will be asked to approve");
  auto* studies = app.add_subcommand("studies", "list studies");
  studies->add_flag("--json", json, "as a JSON array of study statuses (for scripts)");
  auto* status_cmd = app.add_subcommand("status", "print a study's status");
  status_cmd->add_option("--study", study, "study id")->required();
  status_cmd->add_flag("--json", json,
                       "the whole status as JSON; the kind's options and results as objects");
  auto* abort_cmd = app.add_subcommand(
      "abort", "end a running study now (its open tasks stop taking results; audit-logged)");
  abort_cmd->add_option("--study", study, "study id")->required();
  abort_cmd->add_option("--reason", reason, "why (shown in the study's status and the audit log)")
      ->required();
  auto* watch = app.add_subcommand("watch", "follow a study until it ends");
  watch->add_option("--study", study, "study id")->required();
  watch->add_option("--interval", interval, "seconds between polls")->capture_default_str();
  watch->add_option("--timeout", timeout, "give up after this many seconds")->capture_default_str();
  watch->add_option("--report", out_dir, "write the report to this folder when the study ends");
  auto* report = app.add_subcommand(
      "report",
      "write a study's report (report.html, one self-contained page; Markdown, CSV, SVG, JSON)");
  report->add_option("--study", study, "study id")->required();
  report->add_option("--out", out_dir, "output folder")->required();
  std::string plan_file;
  auto* validate = app.add_subcommand(
      "validate",
      "run an external-validation plan: train per site / leave-one-out / federated, "
      "evaluate everywhere, write the AUC matrix");
  validate->add_option("--plan", plan_file, "validation plan (JSON)")->required();
  validate->add_option("--out", out_dir, "output folder")->required();
  validate->add_option("--timeout", timeout, "give up after this many seconds")
      ->capture_default_str();
  std::vector<double> cut_points;
  auto* export_model = app.add_subcommand(
      "export-model", "write a logistic-regression study's fitted model as a scoring file");
  export_model->add_option("--study", study, "study id")->required();
  export_model->add_option("--out", out_dir, "output JSON file")->required();
  auto* given_cuts =
      export_model->add_option("--cut-points", cut_points, "risk class cut points (e.g. 23 45)");
  bool choose_cut_points = false;
  double max_low_death_fraction = 0.10;
  export_model
      ->add_flag("--choose-cut-points", choose_cut_points,
                 "choose the cut points from the sites' counts (an evaluation study on the "
                 "fit's rows): at most --max-low-death-fraction of the events in the low class")
      ->excludes(given_cuts);
  export_model->add_option("--max-low-death-fraction", max_low_death_fraction)
      ->capture_default_str();
  int cut_point_step = 1;
  export_model
      ->add_option("--cut-point-step", cut_point_step,
                   "candidate cut points every this many score points (dividing 100)")
      ->capture_default_str();
  export_model->add_option("--timeout", timeout, "give up after this many seconds")
      ->capture_default_str();
  auto* export_checkpoint = app.add_subcommand(
      "export-checkpoint",
      "write a training study's final model as a checkpoint file (e.g. scancov-score "
      "--lung-model)");
  export_checkpoint->add_option("--study", study, "study id")->required();
  export_checkpoint->add_option("--out", out_dir, "output checkpoint file")->required();
  std::string model_file;
  auto* upload_model = app.add_subcommand(
      "upload-model",
      "store a checkpoint file's weights at the aggregator, for training studies that start "
      "from them (prints the plan's initial_model_sha256)");
  upload_model->add_option("--checkpoint", model_file, "checkpoint file (e.g. export-checkpoint's)")
      ->required()
      ->check(CLI::ExistingFile);
  int ui_port = 0;
  auto* ui = app.add_subcommand(
      "ui",
      "serve a live page of the sites, studies, rounds and failures on 127.0.0.1; prints its "
      "address with an access token");
  ui->add_option("--port", ui_port, "port on 127.0.0.1 (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;
  if ((*disable || *enable) && site.empty() && coordinator.empty()) {
    std::cerr << "scancov-coord " << (*disable ? "disable" : "enable")
              << ": name the identity with --site ID or --coordinator ID\n";
    return scancov::kExitUsage;
  }

  if (absl::Status s = scancov::SetupLogging("coord", log_level); !s.ok()) {
    std::cerr << s.message() << "\n";
    return scancov::kExitUsage;
  }
  auto client = scancov::aggregator::CoordinatorClient::Create(
      conn.aggregator, {conn.ca, conn.cert, conn.key}, conn.tls_name);
  if (!client.ok()) {
    Fail(client.status()).IgnoreError();
    return scancov::kExitFailed;
  }
  scancov::aggregator::GrpcCoordinatorApi api(client->get());
  namespace agg = scancov::aggregator;
  absl::Status result;
  if (*enroll) {
    result = agg::EnrollSiteCommand(api, site, name, std::cout);
  } else if ((*disable || *enable) && (!coordinator.empty() || !reason.empty())) {
    // A coordinator, or a site with a reason: the identity call, which keeps the reason.
    const std::string role = coordinator.empty() ? "site" : "coordinator";
    absl::StatusOr<scancov::v1::IdentityInfo> identity = (*client)->SetIdentityEnabled(
        role, coordinator.empty() ? site : coordinator, enable->parsed(), reason);
    result = identity.status();
    if (identity.ok()) {
      std::cout << role << " " << identity->id() << " "
                << (identity->enabled() ? "enabled" : "disabled") << "\n";
    }
  } else if (*disable || *enable) {
    result = agg::SetSiteEnabledCommand(api, site, enable->parsed(), std::cout);
  } else if (*audit) {
    absl::StatusOr<agg::AuditReport> read = agg::ReadAndVerifyAudit(
        [&](int64_t after) { return (*client)->ReadAudit(after, 500); }, expect_head);
    result = read.status();
    if (read.ok()) agg::PrintAudit(*read, audit_json, std::cout);
  } else if (*sites) {
    result = agg::ListSitesCommand(api, json, std::cout);
  } else if (*create) {
    result = dry_run ? agg::CreateStudyDryRunCommand(api, spec_file, std::cout)
                     : agg::CreateStudyCommand(api, spec_file, std::cout);
  } else if (*studies) {
    result = agg::ListStudiesCommand(api, json, std::cout);
  } else if (*status_cmd) {
    result = agg::StudyStatusCommand(api, study, json, std::cout);
  } else if (*abort_cmd) {
    result = agg::AbortStudyCommand(api, study, reason, std::cout);
  } else if (*watch) {
    agg::WatchOptions options;
    options.interval_s = interval;
    options.timeout_s = timeout;
    options.report_dir = out_dir;
    result = agg::WatchStudy(api, study, options, std::cout);
  } else if (*export_model) {
    agg::ExportModelOptions options;
    options.cut_points = cut_points;
    options.choose_cut_points = choose_cut_points;
    options.max_low_death_fraction = max_low_death_fraction;
    options.cut_point_step = cut_point_step;
    options.timeout_s = timeout;
    result = agg::ExportModel(api, study, out_dir, options, std::cout);
  } else if (*export_checkpoint) {
    result = agg::ExportCheckpoint(api, study, out_dir, std::cout);
  } else if (*upload_model) {
    result = agg::UploadModelCommand(api, model_file, std::cout);
  } else if (*validate) {
    result = agg::RunValidationPlan(api, {plan_file, out_dir, timeout}, std::cout);
  } else if (*report) {
    result = agg::StudyReportCommand(api, study, out_dir, std::cout);
  } else if (*ui) {
    result = ServeUi(api, client->get(), ui_port);
  }
  if (!result.ok()) {
    Fail(result).IgnoreError();
    return scancov::kExitFailed;
  }
  return scancov::kExitOk;
}
