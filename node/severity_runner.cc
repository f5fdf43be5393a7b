#include "node/severity_runner.h"

#include <Eigen/Dense>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "models/nn/severity_encoder.h"
#include "models/stats/auc.h"
#include "models/stats/logistic_site.h"
#include "models/stats/summary_json.h"
#include "node/tabular_features.h"
#include "protocol/weights_codec.h"

namespace scancov::node {
namespace {

using json = nlohmann::json;

struct Spec {
  std::string outcome;
  std::string encoder_config;
  double validation_fraction = 0.25;
};

absl::StatusOr<Spec> ParseSpec(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || j.value("task", std::string()) != "ai_severity") {
    return absl::InvalidArgumentError("spec_json: not an ai_severity task");
  }
  Spec s;
  s.outcome = j.value("outcome", std::string());
  s.encoder_config = j.contains("encoder") ? j.at("encoder").dump() : "";
  s.validation_fraction = j.value("validation_fraction", 0.25);
  return s;
}

nn::SeverityScan AsScan(const SeverityPatient& p) { return {p.ct, p.lungs, p.label}; }

// Encoder weights = the checkpoint without the PCA and regression tensors.
protocol::TensorSet EncoderOnly(const protocol::TensorSet& checkpoint) {
  protocol::TensorSet out;
  for (const protocol::Tensor& t : checkpoint.tensors()) {
    if (t.name.rfind("pca.", 0) == 0 || t.name == "beta") continue;
    (void)out.Add(t);
  }
  return out;
}

// Standardized principal components of each embedding.
absl::StatusOr<Eigen::MatrixXd> Project(const protocol::TensorSet& checkpoint,
                                        const std::vector<std::vector<float>>& embeddings) {
  const protocol::Tensor* mean_t = checkpoint.Find("pca.mean");
  const protocol::Tensor* comp_t = checkpoint.Find("pca.components");
  const protocol::Tensor* scale_t = checkpoint.Find("pca.scale");
  if (!mean_t || !comp_t || !scale_t) return absl::InvalidArgumentError("checkpoint: no PCA");
  const std::vector<double> mean = protocol::ToDoubles(*mean_t);
  const std::vector<double> comp = protocol::ToDoubles(*comp_t);
  const std::vector<double> scale = protocol::ToDoubles(*scale_t);
  const size_t d = mean.size(), k = scale.size();
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

bool BelowMinimum(const std::vector<const SeverityPatient*>& patients, int min_cell) {
  int64_t events = 0;
  for (const SeverityPatient* p : patients) events += p->label == 1;
  return events < min_cell || static_cast<int64_t>(patients.size()) - events < min_cell;
}

}  // namespace

absl::StatusOr<std::vector<std::vector<float>>> SeverityTaskRunner::Embed(
    const protocol::TensorSet& encoder, const std::string& config,
    const std::vector<const SeverityPatient*>& patients) {
  const std::string digest = protocol::WeightsDigestHex(encoder);
  std::vector<std::vector<float>> out;
  for (const SeverityPatient* p : patients) {
    const std::string key = digest + "/" + p->patient_key;
    auto it = embedding_cache_.find(key);
    if (it == embedding_cache_.end()) {
      SCV_ASSIGN_OR_RETURN(std::vector<float> e,
                           nn::EmbedScan(encoder, config, AsScan(*p), options_.device));
      it = embedding_cache_.emplace(key, std::move(e)).first;
    }
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<TaskOutcome> SeverityTaskRunner::Run(const v1::Task& task,
                                                    const protocol::TensorSet* global) {
  SCV_ASSIGN_OR_RETURN(Spec spec, ParseSpec(task.spec_json()));
  TaskOutcome out;
  const bool sends_weights =
      task.kind() == v1::TASK_KIND_INIT_MODEL || task.kind() == v1::TASK_KIND_TRAIN;
  if (sends_weights && !options_.allow_model_weights) {
    return absl::PermissionDeniedError("site privacy policy: model weights may not leave");
  }
  if (task.kind() == v1::TASK_KIND_INIT_MODEL) {
    SCV_ASSIGN_OR_RETURN(protocol::TensorSet w,
                         nn::InitSeverityEncoder(spec.encoder_config, task.plan().seed()));
    out.weights = std::move(w);
    return out;
  }
  if (global == nullptr) return absl::InvalidArgumentError("task has no checkpoint");
  SCV_ASSIGN_OR_RETURN(std::vector<SeverityPatient> patients, data_->Load(spec.outcome));
  std::vector<const SeverityPatient*> train, val;
  for (const SeverityPatient& p : patients) {
    if (p.label < 0) continue;
    const bool held = task.held_out_site() ||
                      InHoldout(p.patient_key, task.plan().seed(), spec.validation_fraction);
    (held ? val : train).push_back(&p);
  }
  const protocol::TensorSet encoder = EncoderOnly(*global);
  if (task.kind() == v1::TASK_KIND_TRAIN) {
    std::vector<nn::SeverityScan> scans;
    for (const SeverityPatient* p : train) scans.push_back(AsScan(*p));
    nn::SeverityTrainConfig config;
    config.model_config_json = spec.encoder_config;
    config.epochs = static_cast<int>(task.plan().local_epochs());
    config.batch_size = task.plan().batch_size() > 0 ? static_cast<int>(task.plan().batch_size()) : 16;
    config.learning_rate = task.plan().learning_rate();
    config.seed = task.plan().seed() * 131 + task.round();
    config.device = options_.device;
    config.proximal_mu = task.plan().proximal_mu();
    SCV_ASSIGN_OR_RETURN(nn::SeverityTrainResult r, nn::TrainSeverityEncoder(encoder, scans, config));
    out.weights = std::move(r.weights);
    out.num_samples = static_cast<uint64_t>(r.num_samples);
    out.metrics["local.train_loss_start"] = r.metrics.loss_start;
    out.metrics["local.train_loss_end"] = r.metrics.loss_end;
    return out;
  }
  const json spec_json = json::parse(task.spec_json(), nullptr, false);
  const int min_cell = privacy::EffectiveMinCellCount(options_.policy,
                                                      spec_json.value("min_cell_count", 0));
  if (task.kind() == v1::TASK_KIND_EVALUATE) {
    SCV_ASSIGN_OR_RETURN(auto embeddings, Embed(encoder, spec.encoder_config, val));
    SCV_ASSIGN_OR_RETURN(Eigen::MatrixXd z, Project(*global, embeddings));
    const std::vector<double> beta = protocol::ToDoubles(*global->Find("beta"));
    std::vector<double> prob, y;
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
      double lp = beta[0];
      for (Eigen::Index c = 0; c < z.cols(); ++c) lp += beta[c + 1] * z(i, c);
      prob.push_back(1 / (1 + std::exp(-lp)));
      y.push_back(val[i]->label);
    }
    out.num_samples = val.size();
    out.metrics["global.n_val"] = static_cast<double>(val.size());
    if (!BelowMinimum(val, min_cell)) {
      absl::StatusOr<double> auc = stats::Auc(prob, y);
      if (auc.ok()) out.metrics["global.val_auc"] = *auc;
    }
    return out;
  }
  // ANALYZE: PCA sums, or a Newton step.
  json result = {{"status", "ok"}};
  if (BelowMinimum(train, min_cell)) {
    result = {{"status", "refused"}, {"reason", "fewer events or non-events than the minimum"}};
    out.result_json = result.dump();
    return out;
  }
  SCV_ASSIGN_OR_RETURN(auto embeddings, Embed(encoder, spec.encoder_config, train));
  out.num_samples = train.size();
  if (global->Find("pca.mean") == nullptr) {
    const size_t d = embeddings.empty() ? 0 : embeddings[0].size();
    std::vector<double> sum(d, 0.0), cross(d * d, 0.0);
    for (const std::vector<float>& e : embeddings) {
      for (size_t a = 0; a < d; ++a) {
        sum[a] += e[a];
        for (size_t b = 0; b < d; ++b) cross[a * d + b] += double(e[a]) * e[b];
      }
    }
    result.update({{"phase", "pca"}, {"n", embeddings.size()}, {"sum", sum}, {"cross", cross}});
    out.result_json = result.dump();
    return out;
  }
  SCV_ASSIGN_OR_RETURN(Eigen::MatrixXd z, Project(*global, embeddings));
  Eigen::VectorXd y(train.size());
  for (size_t i = 0; i < train.size(); ++i) y[i] = train[i]->label;
  SCV_ASSIGN_OR_RETURN(stats::LogisticSiteData site,
                       stats::LogisticSiteData::Create(z, y, stats::LogisticOptions{}));
  SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary summary,
                       site.Evaluate(protocol::ToDoubles(*global->Find("beta"))));
  result.update({{"phase", "newton"}, {"summary", stats::ToJson(summary)}});
  out.result_json = result.dump();
  return out;
}

}  // namespace scancov::node
