#include "node/tasks/severity_runner.h"

#include <spdlog/spdlog.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "models/nn/severity_config.h"
#include "models/nn/severity_encoder.h"
#include "models/stats/auc.h"
#include "models/stats/federated_pca.h"
#include "models/stats/logistic_site.h"
#include "node/ai_severity_scores.h"
#include "node/tabular_features.h"
#include "protocol/failure_code.h"
#include "protocol/ids.h"
#include "protocol/weights_codec.h"
#include "protocol/wire/ai_severity.h"

namespace scancov::node {
namespace {

using wire::AiSeveritySpec;

std::string Metric(const char* name, int m, const AiSeveritySpec& spec) {
  return wire::AiSeverityMemberMetric(name, m, spec.members());
}

bool BelowMinimum(const std::vector<const SeverityPatient*>& patients, int min_cell) {
  int64_t events = 0;
  for (const SeverityPatient* p : patients) events += p->label == 1;
  return events < min_cell || static_cast<int64_t>(patients.size()) - events < min_cell;
}

}  // namespace

absl::StatusOr<std::vector<const SeverityPatient*>> SeverityTaskRunner::Prepare(
    const AiSeveritySpec& spec, const std::vector<SeverityPatient>& patients) {
  std::vector<nn::SliceEncoderConfig> configs;
  for (const std::string& e : spec.encoders) {
    SCV_ASSIGN_OR_RETURN(nn::SliceEncoderConfig c, nn::ParseSliceEncoderConfig(e));
    configs.push_back(c);
  }
  std::vector<const SeverityPatient*> usable;
  int skipped = 0;
  for (size_t i = 0; i < patients.size(); ++i) {
    const SeverityPatient& p = patients[i];
    if (unusable_.count(p.scan_id)) {
      ++skipped;
      continue;
    }
    std::vector<size_t> missing;
    for (size_t m = 0; m < spec.encoders.size(); ++m) {
      if (!slice_cache_.count(ToHex(Sha256Digest(spec.encoders[m])) + "/" + p.scan_id)) {
        missing.push_back(m);
      }
    }
    if (!missing.empty()) {
      // One read of the CT for every member that needs it; the volume is dropped after.
      absl::StatusOr<nn::SeverityScan> scan =
          p.load ? p.load() : absl::InternalError("no loader for this scan");
      absl::Status prepared = scan.status();
      for (size_t k = 0; k < missing.size() && prepared.ok(); ++k) {
        absl::StatusOr<nn::SeveritySlices> s =
            nn::PrepareSeveritySlices(*scan, configs[missing[k]]);
        prepared = s.status();
        if (s.ok()) {
          slice_cache_[ToHex(Sha256Digest(spec.encoders[missing[k]])) + "/" + p.scan_id] =
              *std::move(s);
        }
      }
      if (!prepared.ok()) {
        // Sizes and reasons only: the message of a CT that cannot be used holds no values.
        spdlog::warn("AI-severity: scan {} of {} left out: {}", i + 1, patients.size(),
                     std::string(prepared.message()));
        unusable_.insert(p.scan_id);
        ++skipped;
        continue;
      }
    }
    usable.push_back(&p);
  }
  if (skipped > 0) spdlog::info("AI-severity: {} scan(s) left out", skipped);
  return usable;
}

const nn::SeveritySlices& SeverityTaskRunner::Slices(const std::string& config,
                                                     const SeverityPatient& patient) {
  return slice_cache_.at(ToHex(Sha256Digest(config)) + "/" + patient.scan_id);
}

absl::StatusOr<std::vector<std::vector<float>>> SeverityTaskRunner::Embed(
    const protocol::TensorSet& encoder, const std::string& config, const Patients& patients) {
  // The config is part of the key: two members may share weights at first (same seed and
  // shapes) and still prepare slices differently.
  const std::string model = protocol::WeightsDigestHex(encoder) + "/" + ToHex(Sha256Digest(config));
  std::vector<const nn::SeveritySlices*> todo;
  std::vector<std::string> todo_keys;
  for (const SeverityPatient* p : patients) {
    const std::string key = model + "/" + p->scan_id;
    if (embedding_cache_.count(key) ||
        std::find(todo_keys.begin(), todo_keys.end(), key) != todo_keys.end()) {
      continue;
    }
    todo.push_back(&Slices(config, *p));
    todo_keys.push_back(key);
  }
  if (!todo.empty()) {
    SCV_ASSIGN_OR_RETURN(std::vector<std::vector<float>> embedded,
                         nn::EmbedPreparedScans(encoder, config, todo, options_.device));
    for (size_t i = 0; i < todo.size(); ++i)
      embedding_cache_[todo_keys[i]] = std::move(embedded[i]);
  }
  std::vector<std::vector<float>> out;
  for (const SeverityPatient* p : patients)
    out.push_back(embedding_cache_.at(model + "/" + p->scan_id));
  return out;
}

absl::StatusOr<std::vector<double>> SeverityTaskRunner::Probabilities(
    const AiSeveritySpec& spec, size_t m, const protocol::TensorSet& global,
    const Patients& patients) {
  const protocol::TensorSet member = wire::AiSeverityMemberTensors(global, static_cast<int>(m));
  SCV_ASSIGN_OR_RETURN(wire::AiSeverityHead head, wire::ReadAiSeverityHead(member));
  SCV_ASSIGN_OR_RETURN(auto embeddings,
                       Embed(wire::AiSeverityEncoderTensors(member), spec.encoders[m], patients));
  SCV_ASSIGN_OR_RETURN(Eigen::MatrixXd z, stats::ProjectStandardized(head.pca, embeddings));
  return stats::LogisticProbabilities(z, head.beta);
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Train(const v1::Task& task,
                                                      const AiSeveritySpec& spec,
                                                      const Patients& train,
                                                      const protocol::TensorSet& global,
                                                      Progress& progress) {
  TaskOutcome out;
  protocol::TensorSet weights;
  double loss_start = 0, loss_end = 0;
  for (size_t m = 0; m < spec.encoders.size(); ++m) {
    const int member = static_cast<int>(m);
    nn::SeverityTrainConfig config;
    config.model_config_json = spec.encoders[m];
    config.epochs = static_cast<int>(task.plan().local_epochs());
    config.batch_size =
        task.plan().batch_size() > 0 ? static_cast<int>(task.plan().batch_size()) : 16;
    config.learning_rate = task.plan().learning_rate();
    config.seed = task.plan().seed() * 131 + task.round();  // the same for every member
    config.device = options_.device;
    config.proximal_mu = task.plan().proximal_mu();
    config.progress = &progress;
    if (spec.encoders.size() > 1) {
      progress.SetStage(absl::StrCat("training member ", m + 1, "/", spec.encoders.size()));
    }
    std::vector<const nn::SeveritySlices*> slices;
    std::vector<int> labels;
    for (const SeverityPatient* p : train) {
      slices.push_back(&Slices(spec.encoders[m], *p));
      labels.push_back(p->label);
    }
    SCV_ASSIGN_OR_RETURN(
        nn::SeverityTrainResult r,
        nn::TrainSeverityEncoder(
            wire::AiSeverityEncoderTensors(wire::AiSeverityMemberTensors(global, member)), slices,
            labels, config));
    SCV_RETURN_IF_ERROR(wire::AddAiSeverityMemberTensors(r.weights, member, &weights));
    out.num_samples += static_cast<uint64_t>(r.num_samples);
    loss_start += r.metrics.loss_start / spec.encoders.size();
    loss_end += r.metrics.loss_end / spec.encoders.size();
    if (spec.members() > 1) {
      out.metrics[Metric(wire::kAiSeverityTrainLossStart, member, spec)] = r.metrics.loss_start;
      out.metrics[Metric(wire::kAiSeverityTrainLossEnd, member, spec)] = r.metrics.loss_end;
    }
  }
  out.weights = std::move(weights);
  out.metrics[wire::kAiSeverityTrainLossStart] = loss_start;  // mean over the members
  out.metrics[wire::kAiSeverityTrainLossEnd] = loss_end;
  return out;
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Evaluate(const AiSeveritySpec& spec,
                                                         const Patients& val,
                                                         const protocol::TensorSet& global,
                                                         int min_cell) {
  TaskOutcome out;
  if (val.empty()) return out;
  // Every validation metric but the count depends on the outcome: all of them leave, or none.
  if (BelowMinimum(val, min_cell)) {
    out.metrics[wire::kAiSeverityValWithheld] = 1;
    return out;
  }
  out.num_samples = val.size();
  out.metrics[wire::kAiSeverityNVal] = static_cast<double>(val.size());
  std::vector<double> y, ensemble(val.size(), 0.0);
  for (const SeverityPatient* p : val) y.push_back(p->label);
  for (size_t m = 0; m < spec.encoders.size(); ++m) {
    SCV_ASSIGN_OR_RETURN(std::vector<double> prob, Probabilities(spec, m, global, val));
    for (size_t i = 0; i < prob.size(); ++i) ensemble[i] += prob[i];
    if (spec.members() > 1) {
      absl::StatusOr<double> auc = stats::Auc(prob, y);
      if (auc.ok()) out.metrics[Metric(wire::kAiSeverityValAuc, static_cast<int>(m), spec)] = *auc;
    }
  }
  for (double& p : ensemble) p /= static_cast<double>(spec.encoders.size());
  absl::StatusOr<double> auc = stats::Auc(ensemble, y);
  if (auc.ok()) out.metrics[wire::kAiSeverityValAuc] = *auc;
  return out;
}

absl::StatusOr<size_t> SeverityTaskRunner::StoreScores(const std::string& study_id,
                                                       const AiSeveritySpec& spec,
                                                       const Patients& all,
                                                       const protocol::TensorSet& global) {
  // `all`: every usable scan, whatever its outcome: the score is an input, not a result.
  std::vector<AiSeverityScore> scores(all.size());
  for (size_t m = 0; m < spec.encoders.size(); ++m) {
    SCV_ASSIGN_OR_RETURN(std::vector<double> prob, Probabilities(spec, m, global, all));
    for (size_t i = 0; i < all.size(); ++i) {
      scores[i].patient_key = all[i]->patient_key;
      scores[i].probability += prob[i] / static_cast<double>(spec.encoders.size());
    }
  }
  SCV_RETURN_IF_ERROR(SaveAiSeverityScores(*options_.score_store, study_id,
                                           protocol::WeightsDigestHex(global), scores));
  spdlog::info("study '{}': AI-severity scores of {} patients kept at this site as variable '{}{}'",
               study_id, scores.size(), protocol::kAiSeverityPrefix, study_id);
  return scores.size();
}

absl::Status SeverityTaskRunner::CheckSecondMoments(const AiSeveritySpec& spec,
                                                    const Patients& train,
                                                    const protocol::TensorSet& global, bool pca,
                                                    int min_cell) const {
  const int64_t n = static_cast<int64_t>(train.size());
  for (int m = 0; m < spec.members(); ++m) {
    int64_t d = 0;
    if (pca) {  // the sum of outer products of the scan embeddings: d x d
      SCV_ASSIGN_OR_RETURN(nn::SliceEncoderConfig config,
                           nn::ParseSliceEncoderConfig(spec.encoders[m]));
      d = config.scan_embedding_dim();
    } else {  // the information matrix of the intercept and the k components: (k + 1)^2
      SCV_ASSIGN_OR_RETURN(wire::AiSeverityHead head,
                           wire::ReadAiSeverityHead(wire::AiSeverityMemberTensors(global, m)));
      d = static_cast<int64_t>(head.beta.size());
    }
    const absl::Status releasable = stats::CheckSecondMomentsReleasable(
        n, d, min_cell,
        absl::StrCat("ai_severity ", pca ? "PCA sums" : "Newton step", " (member ", m, ")"));
    if (!releasable.ok()) {  // the code and the site's minimum leave, not the counts
      return protocol::WithFailureCode(releasable, protocol::FailureCode::kOuterProductTooFew,
                                       {{"min", stats::MinRowsForSecondMoments(d, min_cell)}});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Analyze(const AiSeveritySpec& spec,
                                                        const Patients& train,
                                                        const protocol::TensorSet& global,
                                                        int min_cell) {
  TaskOutcome out;
  out.num_samples = train.size();
  wire::AiSeverityAnswer answer;
  const bool pca = !wire::HasAiSeverityHead(wire::AiSeverityMemberTensors(global, 0));
  answer.phase = pca ? "pca" : "newton";
  SCV_RETURN_IF_ERROR(CheckSecondMoments(spec, train, global, pca, min_cell));
  for (int m = 0; m < spec.members(); ++m) {
    const protocol::TensorSet member = wire::AiSeverityMemberTensors(global, m);
    SCV_ASSIGN_OR_RETURN(auto embeddings,
                         Embed(wire::AiSeverityEncoderTensors(member), spec.encoders[m], train));
    if (pca) {
      // Sums only, checked again on what is released, whatever the config said.
      if (!embeddings.empty()) {
        SCV_RETURN_IF_ERROR(stats::CheckSecondMomentsReleasable(
            static_cast<int64_t>(embeddings.size()), static_cast<int64_t>(embeddings[0].size()),
            min_cell, absl::StrCat("ai_severity PCA sums (member ", m, ")")));
      }
      const stats::PcaSums sums = stats::SumRows(embeddings);
      wire::AiSeverityPcaSums released;
      released.n = static_cast<int64_t>(embeddings.size());
      released.sum.assign(sums.sum.data(), sums.sum.data() + sums.sum.size());
      for (Eigen::Index a = 0; a < sums.cross.rows(); ++a) {
        for (Eigen::Index b = 0; b < sums.cross.cols(); ++b) {
          released.cross.push_back(sums.cross(a, b));
        }
      }
      answer.pca.push_back(std::move(released));
      continue;
    }
    SCV_ASSIGN_OR_RETURN(wire::AiSeverityHead head, wire::ReadAiSeverityHead(member));
    SCV_ASSIGN_OR_RETURN(Eigen::MatrixXd z, stats::ProjectStandardized(head.pca, embeddings));
    Eigen::VectorXd y(train.size());
    for (size_t i = 0; i < train.size(); ++i) y[i] = train[i]->label;
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteData site,
                         stats::LogisticSiteData::Create(z, y, stats::LogisticOptions{}));
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary summary, site.Evaluate(head.beta));
    answer.newton.push_back(std::move(summary));
  }
  out.result_json = wire::ToJson(answer);
  return out;
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Run(const v1::Task& task,
                                                    const protocol::TensorSet* global) {
  Progress untracked;
  return RunTracked(task, global, untracked);
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::RunTracked(const v1::Task& task,
                                                           const protocol::TensorSet* global,
                                                           Progress& progress) {
  SCV_ASSIGN_OR_RETURN(const AiSeveritySpec spec, wire::ParseAiSeveritySpec(task.spec_json()));
  const bool sends_weights =
      task.kind() == v1::TASK_KIND_INIT_MODEL || task.kind() == v1::TASK_KIND_TRAIN;
  if (sends_weights && !options_.allow_model_weights) {
    return absl::PermissionDeniedError("site privacy policy: model weights may not leave");
  }
  if (task.kind() == v1::TASK_KIND_INIT_MODEL) {
    protocol::TensorSet weights;
    for (int m = 0; m < spec.members(); ++m) {
      SCV_ASSIGN_OR_RETURN(protocol::TensorSet w,
                           nn::InitSeverityEncoder(spec.encoders[m], task.plan().seed()));
      SCV_RETURN_IF_ERROR(wire::AddAiSeverityMemberTensors(w, m, &weights));
    }
    TaskOutcome out;
    out.weights = std::move(weights);
    return out;
  }
  if (global == nullptr) return absl::InvalidArgumentError("task has no checkpoint");
  SCV_ASSIGN_OR_RETURN(std::vector<SeverityPatient> patients, data_->Load(spec.outcome));
  SCV_ASSIGN_OR_RETURN(const Patients usable, Prepare(spec, patients));
  Patients train, val;
  for (const SeverityPatient* p : usable) {
    if (p->label < 0) continue;
    const bool held = task.held_out_site() ||
                      InHoldout(p->patient_key, options_.split_key, spec.validation_fraction);
    (held ? val : train).push_back(p);
  }
  const int min_cell = privacy::EffectiveMinCellCount(options_.policy, spec.min_cell_count);
  if (task.kind() == v1::TASK_KIND_TRAIN) {
    // The training slices' count leaves as the FedAvg weight: never from too few patients.
    if (train.empty() || static_cast<int64_t>(train.size()) < min_cell) {
      return absl::FailedPreconditionError(
          absl::StrCat("ai_severity: fewer training patients at this site than the minimum (",
                       std::max(min_cell, 1), ")"));
    }
    return Train(task, spec, train, *global, progress);
  }
  if (task.kind() == v1::TASK_KIND_EVALUATE) {
    SCV_ASSIGN_OR_RETURN(TaskOutcome out, Evaluate(spec, val, *global, min_cell));
    if (options_.score_store != nullptr) {  // a count only leaves: how many were kept
      SCV_ASSIGN_OR_RETURN(size_t scored, StoreScores(task.study_id(), spec, usable, *global));
      if (scored == 0 || static_cast<int64_t>(scored) >= min_cell) {
        out.metrics[wire::kAiSeverityNScored] = static_cast<double>(scored);
      }
    }
    return out;
  }
  if (BelowMinimum(train, min_cell)) {  // ANALYZE: PCA sums or a Newton step, if allowed
    wire::AiSeverityAnswer refused;
    refused.status = "refused";
    refused.reason = privacy::BelowMinimumReason(min_cell);
    TaskOutcome out;
    out.result_json = wire::ToJson(refused);
    return out;
  }
  return Analyze(spec, train, *global, min_cell);
}

}  // namespace scancov::node
