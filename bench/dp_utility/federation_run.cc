#include "bench/dp_utility/federation_run.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "core/status_macros.h"
#include "node/agent.h"
#include "node/clinical/clinical_import.h"
#include "node/gate.h"
#include "node/tasks/registry.h"
#include "privacy/dp/distributed_dp.h"
#include "privacy/dp/gaussian_source.h"
#include "privacy/dp/update_clipping.h"
#include "privacy/pseudonymizer.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"
#include "sites/pki/certificate_authority.h"

namespace scancov::bench::dp_utility {
namespace {

using aggregator::Caller;

constexpr char kStudy[] = "dp-utility";
const Caller kCoordinator{Caller::Role::kCoordinator, "bench"};

// The tabular_training plug-in, unchanged, with the L2 norm of every update it trains written
// down before the gate clips and noises it (the norm never leaves the process).
class NormRecorder : public node::TaskPlugin {
 public:
  NormRecorder(std::unique_ptr<node::TaskPlugin> inner, std::vector<double>* norms, std::mutex* mu)
      : inner_(std::move(inner)), norms_(norms), mu_(mu) {}
  absl::StatusOr<node::TaskDeclaration> Declare(const v1::Task& task) const override {
    return inner_->Declare(task);
  }
  absl::StatusOr<node::TaskOutcome> Run(const v1::Task& task,
                                        const protocol::TensorSet* global) override {
    absl::StatusOr<node::TaskOutcome> out = inner_->Run(task, global);
    if (out.ok() && out->weights && global != nullptr && task.kind() == v1::TASK_KIND_TRAIN) {
      SCV_ASSIGN_OR_RETURN(const privacy::dp::ModelUpdate update,
                           privacy::dp::ComputeUpdate(*out->weights, *global));
      std::lock_guard<std::mutex> lock(*mu_);  // the nodes of a distributed run train at once
      norms_->push_back(privacy::dp::L2Norm(update));
    }
    return out;
  }

 private:
  std::unique_ptr<node::TaskPlugin> inner_;
  std::vector<double>* norms_;
  std::mutex* mu_;
};

// One site's node: its gated rows, its gate (DP noise from a seeded source) and its agent.
struct Node {
  std::unique_ptr<node::GatedDatasetSource> gated;
  Random noise_random{0};
  node::DpSgdBoard dp_sgd;  // the gate posts a dp_sgd task's terms here for the plug-in
  std::unique_ptr<node::TaskGate> gate;
  std::unique_ptr<aggregator::InProcessFederationClient> client;
  std::unique_ptr<node::NodeAgent> agent;
};

// The consortium of a distributed run: a CA and a certificate for each site (secure
// aggregation's key adverts are signed with it and checked against the CA by every node).
struct Consortium {
  sites::CertificateAndKey ca;
  std::map<std::string, sites::CertificateAndKey> sites;
};

absl::StatusOr<Consortium> MakeConsortium(const std::vector<SyntheticHospital>& hospitals) {
  Consortium c;
  SCV_ASSIGN_OR_RETURN(c.ca, sites::CreateCertificateAuthority({"dp-utility-consortium"}));
  for (const SyntheticHospital& h : hospitals) {
    sites::IssueOptions issue;
    issue.id = h.id;
    SCV_ASSIGN_OR_RETURN(c.sites[h.id], sites::IssueCertificate(c.ca, issue));
  }
  return c;
}

std::unique_ptr<Node> MakeNode(SyntheticHospital& h, aggregator::Federation* federation,
                               Clock* clock, uint64_t noise_seed, std::vector<double>* norms,
                               std::mutex* norms_mu, const Consortium* consortium) {
  auto n = std::make_unique<Node>();
  n->gated = std::make_unique<node::GatedDatasetSource>(h.source.get(), nullptr,
                                                        node::CohortLimits{}, h.split_key);
  n->noise_random = Random(noise_seed);
  node::NodeContext context;
  context.site_id = h.id;
  context.device = "cpu";
  context.threads = 1;
  context.tabular = n->gated.get();
  context.split_key = h.split_key;
  context.dp_sgd = &n->dp_sgd;
  node::TaskPlugins plugins = node::MakeTorchTasks(context);
  const auto kind = protocol::StudyKind::tabular_training;
  plugins[kind] = std::make_unique<NormRecorder>(std::move(plugins[kind]), norms, norms_mu);
  node::GateOptions options;
  options.clock = clock;
  options.tabular = n->gated.get();
  options.dp_noise = std::make_shared<privacy::dp::SeededGaussianSource>(&n->noise_random);
  options.dp_sgd = &n->dp_sgd;
  n->gate = std::make_unique<node::TaskGate>(options, std::move(plugins), nullptr);
  Caller caller{Caller::Role::kSite, h.id};
  node::AgentOptions agent_options;
  agent_options.clock = clock;
  if (consortium != nullptr) {
    const sites::CertificateAndKey& mine = consortium->sites.at(h.id);
    caller.certificate_pem = mine.certificate_pem;
    agent_options.secagg = {h.id, mine.private_key_pem, consortium->ca.certificate_pem};
  }
  n->client = std::make_unique<aggregator::InProcessFederationClient>(federation, caller, 1 << 20);
  n->agent =
      std::make_unique<node::NodeAgent>(n->client.get(), n->gate.get(), nullptr, agent_options);
  return n;
}

v1::CreateStudyRequest StudyRequest(const std::vector<SyntheticHospital>& hospitals,
                                    const RunConfig& config) {
  v1::CreateStudyRequest req;
  v1::StudySpec& spec = *req.mutable_spec();
  spec.set_name(kStudy);
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  for (const SyntheticHospital& h : hospitals) spec.add_sites(h.id);
  spec.set_rounds(config.rounds);
  spec.mutable_plan()->set_model("severity_mlp");
  spec.mutable_plan()->set_local_epochs(config.local_epochs);
  spec.mutable_plan()->set_batch_size(32);
  spec.mutable_plan()->set_learning_rate(config.learning_rate);
  spec.mutable_plan()->set_seed(config.seed);
  spec.set_spec_json(SeveritySpecJson(config.batch_norm));
  spec.set_privacy_json(PrivacyJson(config));
  // A bound on a round: a secure-aggregation phase that never closes ends the run instead of
  // hanging it.
  if (config.distributed) spec.set_round_timeout_s(300);
  return req;
}

// The evaluation round's metrics (the study's last round), or why there are none.
absl::StatusOr<RunResult> FinalMetrics(const v1::StudyStatus& status) {
  if (status.state() == v1::STUDY_STATE_RUNNING) {
    return absl::DeadlineExceededError(
        absl::StrCat("study still running after the bench's turns: ", status.message()));
  }
  if (status.state() != v1::STUDY_STATE_DONE) {
    return absl::InternalError(
        absl::StrCat("study ", v1::StudyState_Name(status.state()), ": ", status.message()));
  }
  if (status.rounds_size() == 0) return absl::InternalError("study has no rounds");
  const auto& metrics = status.rounds(status.rounds_size() - 1).metrics();
  const auto auc = metrics.find("global.val_auc");
  if (auc == metrics.end()) return absl::InternalError("evaluation round has no global.val_auc");
  RunResult result;
  result.val_auc = auc->second;
  const auto loss = metrics.find("global.val_loss");
  result.val_loss = loss == metrics.end() ? NAN : loss->second;
  return result;
}

}  // namespace

absl::StatusOr<std::vector<SyntheticHospital>> MakeHospitals(uint64_t cohort_seed,
                                                             int third_patients) {
  std::vector<SyntheticHospital> out;
  for (const auto& [id, patients] :
       std::vector<std::pair<std::string, int>>{{"kb", 0}, {"igr", 0}, {"hegp", third_patients}}) {
    SCV_ASSIGN_OR_RETURN(const sites::SiteProfile profile,
                         sites::SiteProfileFor(id, patients, 0.3));
    const sites::SyntheticSite cohort = sites::GenerateSite(profile, cohort_seed);
    SyntheticHospital h;
    h.id = id;
    h.patients = profile.patients;
    const auto pseudonymizer = privacy::Pseudonymizer::FromSecret(std::string(32, id[0]));
    h.split_key = pseudonymizer.SplitKey();
    SCV_ASSIGN_OR_RETURN(h.store, node::NodeStore::InMemory());
    SCV_RETURN_IF_ERROR(node::ImportClinicalCsvText(*h.store, pseudonymizer, id + ".csv",
                                                    sites::AdmissionCsv(cohort))
                            .status());
    h.source = std::make_unique<node::ClinicalDatasetSource>(h.store.get());
    out.push_back(std::move(h));
  }
  return out;
}

std::string SeveritySpecJson(bool batch_norm) {
  nlohmann::json spec = nlohmann::json::parse(R"({"features": [
      {"name": "age", "center": 62, "scale": 14},
      {"name": "spo2", "center": 93, "scale": 4},
      {"name": "crp", "transform": "log", "center": 4, "scale": 0.8},
      {"name": "ldh", "transform": "log", "center": 5.8, "scale": 0.5}],
      "outcome": "severe", "validation_fraction": 0.25})");
  spec["model_config"] = {{"hidden", {16}}, {"dropout", 0.0}, {"batch_norm", batch_norm}};
  return spec.dump();
}

std::string PrivacyJson(const RunConfig& config) {
  if (config.noise_multiplier <= 0) return "";
  const char* mode = config.dp_sgd ? "dp_sgd" : config.distributed ? "distributed" : "site";
  nlohmann::json options = {{"dp",
                             {{"mode", mode},
                              {"clip_norm", config.clip_norm},
                              {"noise_multiplier", config.noise_multiplier},
                              {"delta", config.delta}}}};
  if (config.dp_sgd) options["dp"]["sample_rate"] = config.sample_rate;
  if (config.distributed) {
    privacy::dp::DpSpec dp;
    dp.clip_norm = config.clip_norm;
    dp.noise_multiplier = config.noise_multiplier;
    // Twice what the noised update needs (distributed_dp.h), 2^-20 resolution.
    const double range = std::ceil(2 * privacy::dp::DistributedElementBound(dp, config.threshold));
    options["secure_aggregation"] = {
        {"threshold", config.threshold}, {"fractional_bits", 20}, {"max_abs_value", range}};
  }
  return options.dump();
}

namespace {

// Drives the nodes until the study ends. Site mode: in turns, every node pulling once a turn, on
// the calling thread (the bound only stops a hang). Distributed mode: every node on its own
// thread, pulling whenever it is idle (a secure-aggregation round needs its sites at once, each
// waiting for the others while they train), until the study ends or its rounds time out.
absl::StatusOr<v1::StudyStatus> Drive(aggregator::Federation& federation,
                                      std::vector<std::unique_ptr<Node>>& nodes,
                                      const RunConfig& config) {
  v1::StudyStatus status;
  if (!config.distributed) {
    for (int turn = 0; turn < 20 * (config.rounds + 3); ++turn) {
      for (auto& n : nodes) (void)n->agent->RunOnce();
      SCV_ASSIGN_OR_RETURN(status, federation.GetStudyStatus(kCoordinator, kStudy));
      if (status.state() != v1::STUDY_STATE_RUNNING) break;
    }
    return status;
  }
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (auto& n : nodes) {
    threads.emplace_back([&n, &done] {
      while (!done.load()) {
        absl::StatusOr<node::NodeAgent::Step> step = n->agent->RunOnce();
        if (!step.ok() || *step == node::NodeAgent::Step::kIdle ||
            *step == node::NodeAgent::Step::kWaited) {
          absl::SleepFor(absl::Milliseconds(2));
        }
      }
    });
  }
  absl::Status polled;
  while (polled.ok()) {
    absl::StatusOr<v1::StudyStatus> now = federation.GetStudyStatus(kCoordinator, kStudy);
    if (!now.ok()) {
      polled = now.status();
    } else if (status = *now; status.state() != v1::STUDY_STATE_RUNNING) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  done.store(true);
  for (std::thread& t : threads) t.join();
  if (!polled.ok()) return polled;
  return status;
}

}  // namespace

absl::StatusOr<RunResult> RunFederation(std::vector<SyntheticHospital>& hospitals,
                                        const RunConfig& config) {
  // A fake clock runs the rounds without waiting; secure aggregation needs the real one, as its
  // sites wait for each other while they train (a fake clock's sleeps would pass the deadline).
  FakeClock fake;
  Clock* clock = config.distributed ? Clock::Real() : &fake;
  std::optional<Consortium> consortium;
  if (config.distributed) {
    SCV_ASSIGN_OR_RETURN(consortium, MakeConsortium(hospitals));
  }
  SCV_ASSIGN_OR_RETURN(auto store, aggregator::AggregatorStore::Open(":memory:"));
  aggregator::FederationOptions options;
  options.studies = &aggregator::AllStudyLogics();
  options.clock = clock;
  options.wait = absl::Milliseconds(5);  // a site waiting for the others asks again soon
  aggregator::Federation federation(std::move(store), options);
  for (const SyntheticHospital& h : hospitals) {
    v1::EnrollSiteRequest r;
    r.set_site_id(h.id);
    SCV_RETURN_IF_ERROR(federation.EnrollSite(kCoordinator, r).status());
  }
  const auto start = std::chrono::steady_clock::now();
  SCV_RETURN_IF_ERROR(
      federation.CreateStudy(kCoordinator, StudyRequest(hospitals, config)).status());
  std::vector<double> norms;
  std::mutex norms_mu;
  std::vector<std::unique_ptr<Node>> nodes;
  for (size_t i = 0; i < hospitals.size(); ++i) {
    nodes.push_back(MakeNode(hospitals[i], &federation, clock, config.seed * 1000 + i, &norms,
                             &norms_mu, consortium ? &*consortium : nullptr));
  }
  SCV_ASSIGN_OR_RETURN(const v1::StudyStatus status, Drive(federation, nodes, config));
  SCV_ASSIGN_OR_RETURN(RunResult result, FinalMetrics(status));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.update_norms = std::move(norms);
  return result;
}

}  // namespace scancov::bench::dp_utility
