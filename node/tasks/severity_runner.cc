#include "node/tasks/severity_runner.h"

#include <spdlog/spdlog.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "models/nn/severity_encoder.h"
#include "models/stats/auc.h"
#include "models/stats/logistic_site.h"
#include "models/stats/summary_json.h"
#include "node/ai_severity_scores.h"
#include "node/tabular_features.h"
#include "protocol/ids.h"
#include "protocol/weights_codec.h"

namespace scancov::node {

using json = nlohmann::json;

struct SeverityTaskRunner::Spec {
  std::string outcome;
  std::vector<std::string> encoders;  // each member's SliceEncoderConfig JSON ("" = defaults)
  double validation_fraction = 0.25;
  size_t members() const { return encoders.size(); }
};

namespace {

absl::StatusOr<SeverityTaskRunner::Spec> ParseSpec(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("task", std::string()) != "ai_severity") {
    return absl::InvalidArgumentError("spec_json: not an ai_severity task");
  }
  SeverityTaskRunner::Spec s;
  s.outcome = j.value("outcome", std::string());
  if (j.contains("encoders")) {
    if (!j.at("encoders").is_array() || j.at("encoders").empty()) {
      return absl::InvalidArgumentError("spec_json: \"encoders\" must be a non-empty array");
    }
    for (const json& e : j.at("encoders")) s.encoders.push_back(e.dump());
  } else {
    s.encoders.push_back(j.contains("encoder") ? j.at("encoder").dump() : "");
  }
  s.validation_fraction = j.value("validation_fraction", 0.25);
  return s;
}

std::string Prefix(size_t m) { return absl::StrCat("m", m, "/"); }

std::string MemberMetric(const SeverityTaskRunner::Spec& spec, const char* name, size_t m) {
  return spec.members() > 1 ? absl::StrCat(name, "_m", m) : name;
}

// Member m's tensors of the checkpoint, its prefix removed.
protocol::TensorSet MemberTensors(const protocol::TensorSet& checkpoint, size_t m) {
  const std::string prefix = Prefix(m);
  protocol::TensorSet out;
  for (const protocol::Tensor& t : checkpoint.tensors()) {
    if (t.name.rfind(prefix, 0) != 0) continue;
    protocol::Tensor copy = t;
    copy.name = t.name.substr(prefix.size());
    (void)out.Add(std::move(copy));
  }
  return out;
}

absl::Status AddPrefixed(const protocol::TensorSet& member, size_t m, protocol::TensorSet* out) {
  for (const protocol::Tensor& t : member.tensors()) {
    protocol::Tensor copy = t;
    copy.name = Prefix(m) + t.name;
    SCV_RETURN_IF_ERROR(out->Add(std::move(copy)));
  }
  return absl::OkStatus();
}

// Encoder weights = the member's tensors without the PCA and regression tensors.
protocol::TensorSet EncoderOnly(const protocol::TensorSet& member) {
  protocol::TensorSet out;
  for (const protocol::Tensor& t : member.tensors()) {
    if (t.name.rfind("pca.", 0) == 0 || t.name == "beta") continue;
    (void)out.Add(t);
  }
  return out;
}

// Standardized principal components of each embedding.
absl::StatusOr<Eigen::MatrixXd> Project(const protocol::TensorSet& member,
                                        const std::vector<std::vector<float>>& embeddings) {
  const protocol::Tensor* mean_t = member.Find("pca.mean");
  const protocol::Tensor* comp_t = member.Find("pca.components");
  const protocol::Tensor* scale_t = member.Find("pca.scale");
  if (!mean_t || !comp_t || !scale_t) return absl::InvalidArgumentError("checkpoint: no PCA");
  const std::vector<double> mean = protocol::ToDoubles(*mean_t);
  const std::vector<double> comp = protocol::ToDoubles(*comp_t);
  const std::vector<double> scale = protocol::ToDoubles(*scale_t);
  const size_t d = mean.size(), k = scale.size();
  if (comp.size() != k * d) return absl::InvalidArgumentError("checkpoint: PCA sizes differ");
  Eigen::MatrixXd z(embeddings.size(), k);
  for (size_t i = 0; i < embeddings.size(); ++i) {
    if (embeddings[i].size() != d) return absl::InvalidArgumentError("embedding size != PCA");
    for (size_t c = 0; c < k; ++c) {
      double v = 0;
      for (size_t j = 0; j < d; ++j) v += (embeddings[i][j] - mean[j]) * comp[c * d + j];
      z(i, c) = v / scale[c];
    }
  }
  return z;
}

absl::StatusOr<std::vector<double>> Beta(const protocol::TensorSet& member, Eigen::Index k) {
  const protocol::Tensor* t = member.Find("beta");
  if (t == nullptr) return absl::InvalidArgumentError("checkpoint: no beta");
  std::vector<double> beta = protocol::ToDoubles(*t);
  if (static_cast<Eigen::Index>(beta.size()) != k + 1) {
    return absl::InvalidArgumentError("checkpoint: beta size != PCA components + 1");
  }
  return beta;
}

bool BelowMinimum(const std::vector<const SeverityPatient*>& patients, int min_cell) {
  int64_t events = 0;
  for (const SeverityPatient* p : patients) events += p->label == 1;
  return events < min_cell || static_cast<int64_t>(patients.size()) - events < min_cell;
}

}  // namespace

absl::StatusOr<std::vector<const SeverityPatient*>> SeverityTaskRunner::Prepare(
    const Spec& spec, const std::vector<SeverityPatient>& patients) {
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
    for (size_t m = 0; m < spec.members(); ++m) {
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
    const Spec& spec, size_t m, const protocol::TensorSet& global, const Patients& patients) {
  const protocol::TensorSet member = MemberTensors(global, m);
  SCV_ASSIGN_OR_RETURN(auto embeddings, Embed(EncoderOnly(member), spec.encoders[m], patients));
  SCV_ASSIGN_OR_RETURN(Eigen::MatrixXd z, Project(member, embeddings));
  SCV_ASSIGN_OR_RETURN(std::vector<double> beta, Beta(member, z.cols()));
  std::vector<double> prob;
  for (Eigen::Index i = 0; i < z.rows(); ++i) {
    double lp = beta[0];
    for (Eigen::Index c = 0; c < z.cols(); ++c) lp += beta[c + 1] * z(i, c);
    prob.push_back(1 / (1 + std::exp(-lp)));
  }
  return prob;
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Train(const v1::Task& task, const Spec& spec,
                                                      const Patients& train,
                                                      const protocol::TensorSet& global) {
  TaskOutcome out;
  protocol::TensorSet weights;
  double loss_start = 0, loss_end = 0;
  for (size_t m = 0; m < spec.members(); ++m) {
    nn::SeverityTrainConfig config;
    config.model_config_json = spec.encoders[m];
    config.epochs = static_cast<int>(task.plan().local_epochs());
    config.batch_size =
        task.plan().batch_size() > 0 ? static_cast<int>(task.plan().batch_size()) : 16;
    config.learning_rate = task.plan().learning_rate();
    config.seed = task.plan().seed() * 131 + task.round();  // the same for every member
    config.device = options_.device;
    config.proximal_mu = task.plan().proximal_mu();
    std::vector<const nn::SeveritySlices*> slices;
    std::vector<int> labels;
    for (const SeverityPatient* p : train) {
      slices.push_back(&Slices(spec.encoders[m], *p));
      labels.push_back(p->label);
    }
    SCV_ASSIGN_OR_RETURN(
        nn::SeverityTrainResult r,
        nn::TrainSeverityEncoder(EncoderOnly(MemberTensors(global, m)), slices, labels, config));
    SCV_RETURN_IF_ERROR(AddPrefixed(r.weights, m, &weights));
    out.num_samples += static_cast<uint64_t>(r.num_samples);
    loss_start += r.metrics.loss_start / spec.members();
    loss_end += r.metrics.loss_end / spec.members();
    if (spec.members() > 1) {
      out.metrics[MemberMetric(spec, "local.train_loss_start", m)] = r.metrics.loss_start;
      out.metrics[MemberMetric(spec, "local.train_loss_end", m)] = r.metrics.loss_end;
    }
  }
  out.weights = std::move(weights);
  out.metrics["local.train_loss_start"] = loss_start;  // mean over the members
  out.metrics["local.train_loss_end"] = loss_end;
  return out;
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Evaluate(const Spec& spec, const Patients& val,
                                                         const protocol::TensorSet& global,
                                                         int min_cell) {
  TaskOutcome out;
  out.num_samples = val.size();
  out.metrics["global.n_val"] = static_cast<double>(val.size());
  std::vector<double> y, ensemble(val.size(), 0.0);
  for (const SeverityPatient* p : val) y.push_back(p->label);
  const bool release = !BelowMinimum(val, min_cell);
  for (size_t m = 0; m < spec.members(); ++m) {
    SCV_ASSIGN_OR_RETURN(std::vector<double> prob, Probabilities(spec, m, global, val));
    for (size_t i = 0; i < prob.size(); ++i) ensemble[i] += prob[i];
    if (release && spec.members() > 1) {
      absl::StatusOr<double> auc = stats::Auc(prob, y);
      if (auc.ok()) out.metrics[MemberMetric(spec, "global.val_auc", m)] = *auc;
    }
  }
  for (double& p : ensemble) p /= static_cast<double>(spec.members());
  if (release) {
    absl::StatusOr<double> auc = stats::Auc(ensemble, y);  // undefined with one class only
    if (auc.ok()) out.metrics["global.val_auc"] = *auc;
  }
  return out;
}

absl::StatusOr<size_t> SeverityTaskRunner::StoreScores(const std::string& study_id,
                                                       const Spec& spec, const Patients& all,
                                                       const protocol::TensorSet& global) {
  // `all`: every usable scan, whatever its outcome: the score is an input, not a result.
  std::vector<AiSeverityScore> scores(all.size());
  for (size_t m = 0; m < spec.members(); ++m) {
    SCV_ASSIGN_OR_RETURN(std::vector<double> prob, Probabilities(spec, m, global, all));
    for (size_t i = 0; i < all.size(); ++i) {
      scores[i].patient_key = all[i]->patient_key;
      scores[i].probability += prob[i] / static_cast<double>(spec.members());
    }
  }
  SCV_RETURN_IF_ERROR(SaveAiSeverityScores(*options_.score_store, study_id,
                                           protocol::WeightsDigestHex(global), scores));
  spdlog::info("study '{}': AI-severity scores of {} patients kept at this site as variable '{}{}'",
               study_id, scores.size(), protocol::kAiSeverityPrefix, study_id);
  return scores.size();
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Analyze(const Spec& spec, const Patients& train,
                                                        const protocol::TensorSet& global) {
  TaskOutcome out;
  out.num_samples = train.size();
  json members = json::array();
  for (size_t m = 0; m < spec.members(); ++m) {
    const protocol::TensorSet member = MemberTensors(global, m);
    SCV_ASSIGN_OR_RETURN(auto embeddings, Embed(EncoderOnly(member), spec.encoders[m], train));
    if (member.Find("pca.mean") == nullptr) {  // PCA: sums only
      const size_t d = embeddings.empty() ? 0 : embeddings[0].size();
      std::vector<double> sum(d, 0.0), cross(d * d, 0.0);
      for (const std::vector<float>& e : embeddings) {
        for (size_t a = 0; a < d; ++a) {
          sum[a] += e[a];
          for (size_t b = 0; b < d; ++b) cross[a * d + b] += double(e[a]) * e[b];
        }
      }
      members.push_back({{"n", embeddings.size()}, {"sum", sum}, {"cross", cross}});
      continue;
    }
    SCV_ASSIGN_OR_RETURN(Eigen::MatrixXd z, Project(member, embeddings));
    SCV_ASSIGN_OR_RETURN(std::vector<double> beta, Beta(member, z.cols()));
    Eigen::VectorXd y(train.size());
    for (size_t i = 0; i < train.size(); ++i) y[i] = train[i]->label;
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteData site,
                         stats::LogisticSiteData::Create(z, y, stats::LogisticOptions{}));
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary summary, site.Evaluate(beta));
    members.push_back({{"summary", stats::ToJson(summary)}});
  }
  const bool pca = MemberTensors(global, 0).Find("pca.mean") == nullptr;
  out.result_json =
      json{{"status", "ok"}, {"phase", pca ? "pca" : "newton"}, {"members", members}}.dump();
  return out;
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Run(const v1::Task& task,
                                                    const protocol::TensorSet* global) {
  SCV_ASSIGN_OR_RETURN(Spec spec, ParseSpec(task.spec_json()));
  const bool sends_weights =
      task.kind() == v1::TASK_KIND_INIT_MODEL || task.kind() == v1::TASK_KIND_TRAIN;
  if (sends_weights && !options_.allow_model_weights) {
    return absl::PermissionDeniedError("site privacy policy: model weights may not leave");
  }
  if (task.kind() == v1::TASK_KIND_INIT_MODEL) {
    protocol::TensorSet weights;
    for (size_t m = 0; m < spec.members(); ++m) {
      SCV_ASSIGN_OR_RETURN(protocol::TensorSet w,
                           nn::InitSeverityEncoder(spec.encoders[m], task.plan().seed()));
      SCV_RETURN_IF_ERROR(AddPrefixed(w, m, &weights));
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
                      InHoldout(p->patient_key, task.plan().seed(), spec.validation_fraction);
    (held ? val : train).push_back(p);
  }
  if (task.kind() == v1::TASK_KIND_TRAIN) return Train(task, spec, train, *global);
  const json spec_json = json::parse(task.spec_json(), nullptr, false);
  const int min_cell =
      privacy::EffectiveMinCellCount(options_.policy, spec_json.value("min_cell_count", 0));
  if (task.kind() == v1::TASK_KIND_EVALUATE) {
    SCV_ASSIGN_OR_RETURN(TaskOutcome out, Evaluate(spec, val, *global, min_cell));
    if (options_.score_store != nullptr) {  // a count only leaves: how many were kept
      SCV_ASSIGN_OR_RETURN(size_t scored, StoreScores(task.study_id(), spec, usable, *global));
      out.metrics["local.n_scored"] = static_cast<double>(scored);
    }
    return out;
  }
  if (BelowMinimum(train, min_cell)) {  // ANALYZE: PCA sums or a Newton step, if allowed
    TaskOutcome out;
    out.result_json =
        json{{"status", "refused"}, {"reason", "fewer events or non-events than the minimum"}}
            .dump();
    return out;
  }
  return Analyze(spec, train, *global);
}

}  // namespace scancov::node
