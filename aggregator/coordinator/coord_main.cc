// scancov-coord: the consortium coordinator's command line.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/coordinator/cut_points.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/validation_plan.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "models/nn/checkpoint.h"

namespace {

using scancov::aggregator::CoordinatorClient;

struct Connection {
  std::string aggregator = "127.0.0.1:7443";
  std::string tls_name;
  std::string ca, cert, key;
};

absl::Status Fail(const absl::Status& s) {
  spdlog::error("{}", std::string(s.message()));
  return s;
}

absl::Status Watch(CoordinatorClient& client, const std::string& study, double interval_s,
                   double timeout_s, const std::string& report_dir) {
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_s);
  std::string last;
  while (true) {
    SCV_ASSIGN_OR_RETURN(scancov::v1::StudyStatus status, client.GetStudyStatus(study));
    const std::string line = scancov::aggregator::ProgressLine(status);
    if (line != last) std::cout << line << std::endl;
    last = line;
    if (status.state() != scancov::v1::STUDY_STATE_RUNNING) {
      if (!report_dir.empty()) {
        SCV_RETURN_IF_ERROR(scancov::aggregator::WriteStudyReport(status, report_dir));
        std::cout << "report written to " << report_dir << "/report.md" << std::endl;
      }
      return status.state() == scancov::v1::STUDY_STATE_DONE
                 ? absl::OkStatus()
                 : absl::AbortedError("study failed: " + status.message());
    }
    if (absl::Now() > deadline) return absl::DeadlineExceededError("watch: timed out");
    absl::SleepFor(absl::Seconds(interval_s));
  }
}

// Waits until every study has ended; returns their final statuses (in the given order).
absl::StatusOr<std::vector<scancov::v1::StudyStatus>> WaitAll(
    CoordinatorClient& client, const std::vector<std::string>& studies, double timeout_s) {
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_s);
  while (true) {
    std::vector<scancov::v1::StudyStatus> statuses;
    int running = 0;
    for (const std::string& id : studies) {
      SCV_ASSIGN_OR_RETURN(scancov::v1::StudyStatus st, client.GetStudyStatus(id));
      running += st.state() == scancov::v1::STUDY_STATE_RUNNING;
      statuses.push_back(std::move(st));
    }
    if (running == 0) return statuses;
    if (absl::Now() > deadline) return absl::DeadlineExceededError("validate: timed out");
    absl::SleepFor(absl::Milliseconds(500));
  }
}

absl::Status Validate(CoordinatorClient& client, const std::string& plan_file,
                      const std::string& out_dir, double timeout_s) {
  namespace agg = scancov::aggregator;
  SCV_ASSIGN_OR_RETURN(std::string text, scancov::ReadFileToString(plan_file));
  SCV_ASSIGN_OR_RETURN(agg::ValidationPlan plan, agg::ParseValidationPlan(text));
  for (const std::string& study : agg::AiSeverityStudies(plan)) {
    absl::StatusOr<scancov::v1::StudyStatus> st = client.GetStudyStatus(study);
    if (!st.ok()) {
      return absl::Status(st.status().code(), absl::StrCat("plan: feature 'ai_severity:", study,
                                                           "': ", st.status().message()));
    }
    SCV_RETURN_IF_ERROR(agg::UseAiSeverityStudy(*st, &plan));
  }
  std::vector<agg::TrainedModel> models;
  std::vector<std::string> training;
  for (const auto& [model, spec] : agg::TrainingStudies(plan)) {
    SCV_RETURN_IF_ERROR(client.CreateStudy(spec).status());
    models.push_back(model);
    training.push_back(spec.name());
  }
  std::cout << "validate: " << training.size() << " training studies created" << std::endl;
  SCV_ASSIGN_OR_RETURN(std::vector<scancov::v1::StudyStatus> trained,
                       WaitAll(client, training, timeout_s));
  std::map<std::string, std::vector<double>> coefficients, terciles;
  for (const scancov::v1::StudyStatus& st : trained) {
    absl::StatusOr<std::vector<double>> beta = agg::FittedCoefficients(st);
    if (beta.ok()) {
      coefficients[st.study_id()] = *beta;
      // Each model's risk groups: its own training terciles (else the published ones).
      absl::StatusOr<std::vector<double>> t = agg::FittedTerciles(st);
      if (t.ok()) terciles[st.study_id()] = *t;
    } else {
      std::cout << "  no model from " << st.study_id() << ": " << beta.status().message() << "\n";
    }
  }
  std::vector<std::string> evaluation;
  for (const scancov::v1::StudySpec& spec :
       agg::EvaluationStudies(plan, models, coefficients, terciles)) {
    SCV_RETURN_IF_ERROR(client.CreateStudy(spec).status());
    evaluation.push_back(spec.name());
  }
  std::cout << "validate: " << coefficients.size() << " models fitted, " << evaluation.size()
            << " evaluation studies created" << std::endl;
  SCV_ASSIGN_OR_RETURN(std::vector<scancov::v1::StudyStatus> evaluated,
                       WaitAll(client, evaluation, timeout_s));
  SCV_RETURN_IF_ERROR(scancov::MakeDirs(out_dir));
  for (const auto* group : {&trained, &evaluated}) {
    for (const scancov::v1::StudyStatus& st : *group) {
      SCV_RETURN_IF_ERROR(agg::WriteStudyReport(st, out_dir + "/" + st.study_id()));
    }
  }
  const std::string md = agg::ValidationMatrixMarkdown(plan, evaluated);
  SCV_RETURN_IF_ERROR(scancov::WriteFileAtomic(out_dir + "/validation.md", md));
  std::cout << md << "\nreport written to " << out_dir << "/validation.md" << std::endl;
  return absl::OkStatus();
}

// The fitted model of a logistic-regression study as a scoring file (scancov-score
// --aiscore-model): {"features": [...as in the study...], "coefficients": [intercept, ...],
// "outcome", "n", "events", "source", "cut_points"}, and when the study found them the terciles of
// its training probabilities, "terciles": [t1, t2], with the 1-5 scale's "five_level_cuts"
// (probabilities, models/scores/risk_classes.h; "cut_points" stay in score units).
// The AI-SCoRE-like classes' cut points from counts (aggregator/cut_points.h): an evaluation
// study of the fitted model on the rows of the fit, then the rule on its pooled ROC counts.
absl::StatusOr<std::vector<double>> ChooseCutPoints(CoordinatorClient& client,
                                                    const scancov::v1::StudyStatus& fitted,
                                                    const std::vector<double>& beta,
                                                    double max_low_death_fraction, int step,
                                                    double timeout_s) {
  namespace agg = scancov::aggregator;
  SCV_ASSIGN_OR_RETURN(
      scancov::v1::StudySpec spec,
      agg::CutPointStudySpec(fitted, beta, absl::StrCat(fitted.study_id(), "-cut-points"), step));
  SCV_RETURN_IF_ERROR(client.CreateStudy(spec).status());
  SCV_ASSIGN_OR_RETURN(std::vector<scancov::v1::StudyStatus> done,
                       WaitAll(client, {spec.name()}, timeout_s));
  scancov::scores::CutPointOptions options;
  options.max_low_death_fraction = max_low_death_fraction;
  SCV_ASSIGN_OR_RETURN(scancov::scores::AiScoreBinning b,
                       agg::CutPointsFromEvaluation(done.front(), options));
  const auto row = [](const char* name, const scancov::scores::ClassSummary& c) {
    return absl::StrFormat("  %-6s %6d patients, %5d events (%.1f%%)\n", name, c.patients, c.deaths,
                           100 * c.mortality());
  };
  std::cout << absl::StrFormat(
                   "cut points %g / %g chosen from counts (study %s): %.1f%% of the training "
                   "events in the low class\n",
                   b.cut_points.low_medium, b.cut_points.medium_high, spec.name(),
                   100 * b.low_death_fraction)
            << row("low", b.low) << row("medium", b.medium) << row("high", b.high);
  return std::vector<double>{b.cut_points.low_medium, b.cut_points.medium_high};
}

absl::Status ExportModel(CoordinatorClient& client, const std::string& study,
                         const std::string& out, std::vector<double> cut_points,
                         bool choose_cut_points, double max_low_death_fraction, int step,
                         double timeout_s) {
  SCV_ASSIGN_OR_RETURN(scancov::v1::StudyStatus st, client.GetStudyStatus(study));
  SCV_ASSIGN_OR_RETURN(std::vector<double> beta, scancov::aggregator::FittedCoefficients(st));
  if (choose_cut_points) {
    absl::StatusOr<std::vector<double>> chosen =
        ChooseCutPoints(client, st, beta, max_low_death_fraction, step, timeout_s);
    if (!chosen.ok() && !absl::IsFailedPrecondition(chosen.status())) return chosen.status();
    // The counts the sites may release do not always allow the rule (small sites release few
    // thresholds): then the seed's cut points, said so.
    cut_points = chosen.ok() ? *chosen : std::vector<double>{23, 45};
    if (!chosen.ok()) {
      std::cout << "cut points could not be chosen from the released counts ("
                << chosen.status().message() << "); the seed's 23 / 45 are used\n";
    }
  }
  const nlohmann::json spec = nlohmann::json::parse(st.spec().spec_json(), nullptr, false);
  const nlohmann::json result =
      nlohmann::json::parse(st.rounds().rbegin()->result_json(), nullptr, false);
  nlohmann::json model = {{"features", spec.at("features")},
                          {"coefficients", beta},
                          {"outcome", spec.value("outcome", std::string())},
                          {"n", result.at("fit").value("n", 0)},
                          {"events", result.at("fit").value("events", 0)},
                          {"sites", st.spec().sites()},
                          {"source", "federated logistic regression, study " + study}};
  if (!cut_points.empty()) model["cut_points"] = cut_points;
  for (const char* key : {"terciles", "five_level_cuts"}) {
    if (result.at("fit").contains(key)) model[key] = result.at("fit").at(key);
  }
  SCV_RETURN_IF_ERROR(scancov::WriteFileAtomic(out, model.dump(2) + "\n"));
  std::cout << "model of study " << study << " written to " << out << "\n";
  return absl::OkStatus();
}

// The final model of a training study (segmentation, tabular, AI-severity encoder) as a
// checkpoint file (models/nn/checkpoint.h) for scancov-score --lung-model / --lesion-model: the
// latest global weights, the model's registry name and config from the study's plan, and the
// slice size it was trained at (spec_json "in_plane") so that scoring fits the CT the same way.
absl::Status ExportCheckpoint(CoordinatorClient& client, const std::string& study,
                              const std::string& out) {
  SCV_ASSIGN_OR_RETURN(scancov::v1::StudyStatus st, client.GetStudyStatus(study));
  if (st.spec().kind() != scancov::v1::STUDY_KIND_TRAINING) {
    return absl::FailedPreconditionError(absl::StrCat(
        "study '", study, "' is not a training study: it has no model weights to export"));
  }
  if (st.state() != scancov::v1::STUDY_STATE_DONE) {
    return absl::FailedPreconditionError(
        absl::StrCat("study '", study, "' is not done: its model is final only when it is"));
  }
  std::string checkpoint_id;
  for (const scancov::v1::RoundStatus& r : st.rounds()) {
    if (!r.checkpoint_id().empty()) checkpoint_id = r.checkpoint_id();
  }
  if (checkpoint_id.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("study '", study, "' has no checkpoint"));
  }
  const nlohmann::json spec = nlohmann::json::parse(st.spec().spec_json(), nullptr, false);
  scancov::nn::Checkpoint ckpt;
  ckpt.model = st.spec().plan().model();
  if (spec.is_object() && spec.contains("model_config")) {
    const nlohmann::json& c = spec.at("model_config");
    ckpt.model_config_json = c.is_string() ? c.get<std::string>() : c.dump();
  }
  if (spec.is_object()) ckpt.in_plane = spec.value("in_plane", 0);
  SCV_ASSIGN_OR_RETURN(ckpt.weights, client.DownloadCheckpoint(study, checkpoint_id));
  SCV_RETURN_IF_ERROR(scancov::nn::SaveCheckpoint(out, ckpt));
  std::cout << "model '" << ckpt.model << "' of study " << study << " (checkpoint " << checkpoint_id
            << ", " << ckpt.weights.size() << " tensors"
            << (ckpt.in_plane > 0 ? absl::StrCat(", trained at ", ckpt.in_plane, " px") : "")
            << ") written to " << out << "\n";
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "scancov-coord: enrol sites, launch studies and read their reports.\n"
      "Connects to the aggregator over mutual TLS with the coordinator certificate."};
  app.require_subcommand(1);
  Connection conn;
  std::string log_level = "warn";
  app.add_option("--aggregator", conn.aggregator, "aggregator host:port")->capture_default_str();
  app.add_option("--tls-name", conn.tls_name, "name to check on the aggregator certificate");
  app.add_option("--ca", conn.ca, "consortium CA certificate (PEM)")->required();
  app.add_option("--cert", conn.cert, "coordinator certificate (PEM)")->required();
  app.add_option("--key", conn.key, "coordinator private key (PEM)")->required();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();

  std::string site, name, spec_file, study, out_dir;
  double interval = 2, timeout = 3600;
  auto* enroll = app.add_subcommand("enroll", "enrol a site (its certificate CN)");
  enroll->add_option("--site", site, "site id")->required();
  enroll->add_option("--name", name, "display name");
  auto* disable = app.add_subcommand("disable", "refuse a site's calls from now on");
  disable->add_option("--site", site, "site id")->required();
  auto* enable = app.add_subcommand("enable", "accept a disabled site again");
  enable->add_option("--site", site, "site id")->required();
  auto* sites = app.add_subcommand("sites", "list enrolled sites and when they were last seen");
  auto* create = app.add_subcommand("create-study", "create a study from a JSON StudySpec");
  create->add_option("--spec", spec_file, "StudySpec as JSON (protobuf JSON mapping)")->required();
  auto* studies = app.add_subcommand("studies", "list studies");
  auto* status_cmd = app.add_subcommand("status", "print a study's status");
  status_cmd->add_option("--study", study, "study id")->required();
  auto* watch = app.add_subcommand("watch", "follow a study until it ends");
  watch->add_option("--study", study, "study id")->required();
  watch->add_option("--interval", interval, "seconds between polls")->capture_default_str();
  watch->add_option("--timeout", timeout, "give up after this many seconds")->capture_default_str();
  watch->add_option("--report", out_dir, "write the report to this folder when the study ends");
  auto* report = app.add_subcommand("report", "write a study's report (Markdown, CSV, SVG)");
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
  CLI11_PARSE(app, argc, argv);

  if (absl::Status s = scancov::SetupLogging("coord", log_level); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  auto client =
      CoordinatorClient::Create(conn.aggregator, {conn.ca, conn.cert, conn.key}, conn.tls_name);
  if (!client.ok()) {
    Fail(client.status()).IgnoreError();
    return 1;
  }
  CoordinatorClient& c = **client;
  absl::Status result;
  if (*enroll) {
    auto info = c.EnrollSite(site, name);
    result = info.status();
    if (info.ok()) std::cout << "enrolled site " << info->site_id() << "\n";
  } else if (*disable || *enable) {
    auto info = c.SetSiteEnabled(site, enable->parsed());
    result = info.status();
    if (info.ok())
      std::cout << info->site_id() << (info->enabled() ? " enabled" : " disabled") << "\n";
  } else if (*sites) {
    auto list = c.ListSites();
    result = list.status();
    if (list.ok()) {
      for (const auto& s : list->sites()) {
        std::cout << s.site_id() << "\t" << (s.enabled() ? "enabled" : "disabled") << "\t"
                  << (s.last_seen_unix()
                          ? absl::FormatTime(absl::FromUnixSeconds(s.last_seen_unix()))
                          : std::string("never seen"))
                  << "\t" << s.device() << "\n";
      }
    }
  } else if (*create) {
    absl::StatusOr<std::string> text = scancov::ReadFileToString(spec_file);
    absl::StatusOr<scancov::v1::StudySpec> spec =
        text.ok() ? scancov::aggregator::StudySpecFromJson(*text)
                  : absl::StatusOr<scancov::v1::StudySpec>(text.status());
    if (!spec.ok()) {
      result = spec.status();
    } else {
      auto created = c.CreateStudy(*spec);
      result = created.status();
      if (created.ok()) std::cout << "study " << created->study_id() << " created\n";
    }
  } else if (*studies) {
    auto list = c.ListStudies();
    result = list.status();
    if (list.ok()) {
      for (const auto& s : list->studies())
        std::cout << scancov::aggregator::ProgressLine(s) << "\n";
    }
  } else if (*status_cmd) {
    auto status = c.GetStudyStatus(study);
    result = status.status();
    if (status.ok()) std::cout << scancov::aggregator::StudyReportMarkdown(*status);
  } else if (*watch) {
    result = Watch(c, study, interval, timeout, out_dir);
  } else if (*export_model) {
    result = ExportModel(c, study, out_dir, cut_points, choose_cut_points, max_low_death_fraction,
                         cut_point_step, timeout);
  } else if (*export_checkpoint) {
    result = ExportCheckpoint(c, study, out_dir);
  } else if (*validate) {
    result = Validate(c, plan_file, out_dir, timeout);
  } else if (*report) {
    auto status = c.GetStudyStatus(study);
    result =
        status.ok() ? scancov::aggregator::WriteStudyReport(*status, out_dir) : status.status();
    if (result.ok()) std::cout << "report written to " << out_dir << "/report.md\n";
  }
  if (!result.ok()) {
    Fail(result).IgnoreError();
    return 1;
  }
  return 0;
}
