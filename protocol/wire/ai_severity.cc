#include "protocol/wire/ai_severity.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"
#include "models/stats/summary_json.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "ai_severity";
constexpr int64_t kMaxScans = int64_t{1} << 40;

absl::Status Bad(const std::string& where, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

absl::Status ParseMembers(const json& j, AiSeveritySpec* s) {
  const std::string where = "spec_json";
  const bool one = j.contains("encoder") && !j.at("encoder").is_null();
  const bool many = j.contains("encoders") && !j.at("encoders").is_null();
  if (one && many) return Bad(where, "give \"encoder\" or \"encoders\", not both");
  if (one) {
    if (!j.at("encoder").is_object()) return Bad(where, "encoder must be an object");
    s->encoders = {j.at("encoder").dump()};
    return absl::OkStatus();
  }
  if (!many) return absl::OkStatus();
  const json& e = j.at("encoders");
  if (!e.is_array() || e.empty() || e.size() > static_cast<size_t>(kMaxAiSeverityMembers)) {
    return Bad(where,
               absl::StrCat("encoders must be a list of 1..", kMaxAiSeverityMembers, " configs"));
  }
  s->encoders.clear();
  s->encoders_listed = true;
  for (size_t m = 0; m < e.size(); ++m) {
    if (!e[m].is_object()) return Bad(where, absl::StrCat("encoders[", m, "] must be an object"));
    for (size_t k = 0; k < m; ++k) {
      if (e[k] == e[m]) {  // same config, same seed: the same model twice
        return Bad(where, absl::StrCat("encoders[", k, "] and encoders[", m, "] are identical"));
      }
    }
    s->encoders.push_back(e[m].dump());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> FiniteNumbers(const json& j, const char* key,
                                                  const std::string& where, size_t max_size) {
  if (!j.contains(key) || !j.at(key).is_array() || j.at(key).size() > max_size) {
    return Bad(where, absl::StrCat(key, " must be a list of at most ", max_size, " numbers"));
  }
  std::vector<double> out;
  for (const json& v : j.at(key)) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      return Bad(where, absl::StrCat(key, " must hold finite numbers"));
    }
    out.push_back(v.get<double>());
  }
  return out;
}

absl::StatusOr<AiSeverityPcaSums> ParseSums(const json& m, const std::string& where) {
  AiSeverityPcaSums s;
  SCV_ASSIGN_OR_RETURN(s.n, IntField(m, "n", where, -1, 0, kMaxScans));
  SCV_ASSIGN_OR_RETURN(s.sum, FiniteNumbers(m, "sum", where, kMaxAiSeverityEmbedding));
  const size_t d = s.sum.size();
  SCV_ASSIGN_OR_RETURN(s.cross, FiniteNumbers(m, "cross", where, d * d));
  if (s.cross.size() != d * d) return Bad(where, "cross must hold d * d numbers (d: sum's)");
  return s;
}

absl::StatusOr<stats::LogisticSiteSummary> ParseSummary(const json& m, const char* key,
                                                        const std::string& where) {
  if (!m.contains(key)) return Bad(where, absl::StrCat(key, " is required"));
  absl::StatusOr<stats::LogisticSiteSummary> s = stats::LogisticSiteSummaryFromJson(m.at(key));
  if (!s.ok()) return Bad(where, std::string(s.status().message()));
  const size_t p = s->gradient.size();
  bool finite = std::isfinite(s->log_likelihood) && std::isfinite(s->weight_sum);
  for (const std::vector<double>* v : {&s->beta, &s->gradient, &s->information}) {
    for (double x : *v) finite &= std::isfinite(x);
  }
  if (p == 0 || s->beta.size() != p || s->information.size() != p * p || !finite) {
    return Bad(where, absl::StrCat(key,
                                   ": beta, gradient and information must be p, p and p * p "
                                   "finite numbers"));
  }
  return *std::move(s);
}

// A config's text as the object it holds ({} for "" or text that is not one).
json ConfigObject(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

json SummaryOrNull(const std::optional<stats::LogisticSiteSummary>& s) {
  return s.has_value() ? stats::ToJson(*s) : json(nullptr);
}

}  // namespace

absl::StatusOr<AiSeveritySpec> ParseAiSeveritySpec(const std::string& spec_json) {
  const std::string where = "spec_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(spec_json, where));
  SCV_ASSIGN_OR_RETURN(const std::string task, StringField(j, "task", where, kKind));
  if (task != kKind) return Bad(where, absl::StrCat("task must be '", kKind, "'"));
  AiSeveritySpec s;
  SCV_ASSIGN_OR_RETURN(s.outcome, StringField(j, "outcome", where, ""));
  if (s.outcome.empty()) return Bad(where, "outcome is required");
  SCV_RETURN_IF_ERROR(ParseMembers(j, &s));
  SCV_ASSIGN_OR_RETURN(const int64_t k, IntField(j, "pca_components", where, 40, 1, 512));
  s.pca_components = static_cast<int>(k);
  SCV_ASSIGN_OR_RETURN(s.logistic.l2_penalty, NumberField(j, "l2", where, 1.0));
  if (!(s.logistic.l2_penalty >= 0 && s.logistic.l2_penalty <= 1e6)) {
    return Bad(where, "l2 must be in [0, 1e6]");
  }
  SCV_ASSIGN_OR_RETURN(const int64_t newton, IntField(j, "max_newton", where, 30, 1, 1000));
  s.logistic.max_iterations = static_cast<int>(newton);
  SCV_ASSIGN_OR_RETURN(s.validation_fraction,
                       NumberField(j, "validation_fraction", where, s.validation_fraction));
  if (!(s.validation_fraction >= 0 && s.validation_fraction <= 1)) {
    return Bad(where, "validation_fraction must be in [0, 1]");
  }
  SCV_ASSIGN_OR_RETURN(const int64_t min_cell, IntField(j, "min_cell_count", where, 0, 0, 100000));
  s.min_cell_count = static_cast<int>(min_cell);
  return s;
}

std::string ToJson(const AiSeveritySpec& s) {
  json j = {{"task", kKind},
            {"outcome", s.outcome},
            {"pca_components", s.pca_components},
            {"l2", s.logistic.l2_penalty},
            {"max_newton", s.logistic.max_iterations},
            {"validation_fraction", s.validation_fraction},
            {"min_cell_count", s.min_cell_count}};
  if (s.encoders_listed) {
    json list = json::array();
    for (const std::string& e : s.encoders) list.push_back(ConfigObject(e));
    j["encoders"] = list;
  } else if (!s.encoders.empty() && !s.encoders[0].empty()) {
    j["encoder"] = ConfigObject(s.encoders[0]);
  }
  return j.dump();
}

std::string AiSeverityMemberPrefix(int m) { return absl::StrCat("m", m, "/"); }

int AiSeverityMemberOf(const std::string& name, int members) {
  for (int m = 0; m < members; ++m) {
    if (name.rfind(AiSeverityMemberPrefix(m), 0) == 0) return m;
  }
  return -1;
}

protocol::TensorSet AiSeverityMemberTensors(const protocol::TensorSet& checkpoint, int m) {
  const std::string prefix = AiSeverityMemberPrefix(m);
  protocol::TensorSet out;
  for (const protocol::Tensor& t : checkpoint.tensors()) {
    if (t.name.rfind(prefix, 0) != 0) continue;
    protocol::Tensor copy = t;
    copy.name = t.name.substr(prefix.size());
    (void)out.Add(std::move(copy));  // names stay distinct: the prefix is removed from each
  }
  return out;
}

absl::Status AddAiSeverityMemberTensors(const protocol::TensorSet& member, int m,
                                        protocol::TensorSet* checkpoint) {
  for (const protocol::Tensor& t : member.tensors()) {
    protocol::Tensor copy = t;
    copy.name = AiSeverityMemberPrefix(m) + t.name;
    SCV_RETURN_IF_ERROR(checkpoint->Add(std::move(copy)));
  }
  return absl::OkStatus();
}

protocol::TensorSet AiSeverityEncoderTensors(const protocol::TensorSet& member) {
  protocol::TensorSet out;
  for (const protocol::Tensor& t : member.tensors()) {
    if (t.name.rfind("pca.", 0) == 0 || t.name == kAiSeverityBeta) continue;
    (void)out.Add(t);  // a subset of a valid set
  }
  return out;
}

bool HasAiSeverityHead(const protocol::TensorSet& member) {
  return member.Find(kAiSeverityPcaMean) != nullptr;
}

absl::StatusOr<AiSeverityHead> ReadAiSeverityHead(const protocol::TensorSet& member) {
  const char* names[] = {kAiSeverityPcaMean, kAiSeverityPcaComponents, kAiSeverityPcaScale,
                         kAiSeverityBeta};
  std::vector<double> v[4];
  for (int i = 0; i < 4; ++i) {
    const protocol::Tensor* t = member.Find(names[i]);
    if (t == nullptr) return Bad(absl::StrCat("checkpoint tensor '", names[i], "'"), "missing");
    if (t->dtype != protocol::DType::kFloat64) {
      return Bad(absl::StrCat("checkpoint tensor '", names[i], "'"), "must be float64");
    }
    v[i] = protocol::ToDoubles(*t);
  }
  const size_t d = v[0].size(), k = v[2].size();
  if (v[1].size() != k * d || v[3].size() != k + 1) {
    return Bad("checkpoint", "PCA and beta sizes differ (components k x d, beta k + 1)");
  }
  AiSeverityHead head;
  head.pca.mean = Eigen::Map<const Eigen::VectorXd>(v[0].data(), static_cast<Eigen::Index>(d));
  head.pca.components = Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(
      v[1].data(), static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d));
  head.pca.scale = Eigen::Map<const Eigen::VectorXd>(v[2].data(), static_cast<Eigen::Index>(k));
  head.beta = std::move(v[3]);
  return head;
}

std::vector<protocol::Tensor> AiSeverityHeadTensors(int m, const AiSeverityHead& head) {
  const std::string p = AiSeverityMemberPrefix(m);
  const int64_t d = head.pca.mean.size(), k = head.pca.scale.size();
  std::vector<double> comp;
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < d; ++j) comp.push_back(head.pca.components(c, j));
  }
  const Eigen::VectorXd& mean = head.pca.mean;
  const Eigen::VectorXd& scale = head.pca.scale;
  return {
      protocol::FromDoubles(p + kAiSeverityPcaMean, {d}, protocol::DType::kFloat64,
                            std::vector<double>(mean.data(), mean.data() + d)),
      protocol::FromDoubles(p + kAiSeverityPcaComponents, {k, d}, protocol::DType::kFloat64, comp),
      protocol::FromDoubles(p + kAiSeverityPcaScale, {k}, protocol::DType::kFloat64,
                            std::vector<double>(scale.data(), scale.data() + k)),
      AiSeverityBetaTensor(m, head.beta)};
}

protocol::Tensor AiSeverityBetaTensor(int m, const std::vector<double>& beta) {
  return protocol::FromDoubles(AiSeverityMemberPrefix(m) + kAiSeverityBeta,
                               {static_cast<int64_t>(beta.size())}, protocol::DType::kFloat64,
                               beta);
}

std::string AiSeverityMemberMetric(const char* name, int m, int members) {
  return members > 1 ? absl::StrCat(name, "_m", m) : name;
}

std::string ToJson(const AiSeverityAnswer& a) {
  if (a.status != "ok") return json{{"status", a.status}, {"reason", a.reason}}.dump();
  json members = json::array();
  for (const AiSeverityPcaSums& s : a.pca) {
    members.push_back({{"n", s.n}, {"sum", s.sum}, {"cross", s.cross}});
  }
  for (const stats::LogisticSiteSummary& s : a.newton) {
    members.push_back({{"summary", stats::ToJson(s)}});
  }
  return json{{"status", "ok"}, {"phase", a.phase}, {"members", members}}.dump();
}

absl::StatusOr<AiSeverityAnswer> ParseAiSeverityAnswer(const std::string& text, int members) {
  const std::string where = "result_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  AiSeverityAnswer a;
  SCV_ASSIGN_OR_RETURN(a.status, StringField(j, "status", where, ""));
  SCV_ASSIGN_OR_RETURN(a.reason, StringField(j, "reason", where, ""));
  if (a.status == "refused") return a;
  if (a.status != "ok") return Bad(where, "status must be ok or refused");
  SCV_ASSIGN_OR_RETURN(a.phase, StringField(j, "phase", where, ""));
  if (a.phase != "pca" && a.phase != "newton") return Bad(where, "phase must be pca or newton");
  const json& list = j.value("members", json());
  if (!list.is_array() || static_cast<int>(list.size()) != members) {
    return Bad(where, absl::StrCat("expected one result per member (", members, ")"));
  }
  for (int m = 0; m < members; ++m) {
    const std::string at = absl::StrCat(where, ", member ", m);
    if (!list[m].is_object()) return Bad(at, "not an object");
    if (a.phase == "pca") {
      SCV_ASSIGN_OR_RETURN(AiSeverityPcaSums s, ParseSums(list[m], at));
      a.pca.push_back(std::move(s));
    } else {
      SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary s, ParseSummary(list[m], "summary", at));
      a.newton.push_back(std::move(s));
    }
  }
  return a;
}

stats::PcaSums ToPcaSums(const AiSeverityPcaSums& s) {
  const Eigen::Index d = static_cast<Eigen::Index>(s.sum.size());
  stats::PcaSums out;
  out.n = static_cast<double>(s.n);
  out.sum = Eigen::Map<const Eigen::VectorXd>(s.sum.data(), d);
  out.cross =
      Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(s.cross.data(), d, d);
  return out;
}

std::string ToJson(const AiSeverityRound& r) {
  json j = {{"phase", r.phase}};
  if (r.phase == "evaluate") {
    j["members"] = r.members;
    return j.dump();
  }
  j["next"] = r.next;
  json members = json::array();
  for (const AiSeverityPcaMember& m : r.pca) {
    members.push_back({{"components", m.components}, {"explained_variance", m.explained_variance}});
  }
  for (const AiSeverityNewtonMember& m : r.newton) {
    if (m.waiting) {
      members.push_back({{"waiting", true}});
      continue;
    }
    json e = {{"pooled_summary", SummaryOrNull(m.pooled_summary)}};
    if (m.fit.has_value()) {
      e["fit"] = {{"iterations", m.fit->iterations},
                  {"n", m.fit->n},
                  {"events", m.fit->events},
                  {"log_likelihood", m.fit->log_likelihood},
                  {"coefficients", m.fit->coefficients}};
    }
    members.push_back(std::move(e));
  }
  j["members"] = members;
  return j.dump();
}

absl::StatusOr<AiSeverityRound> ParseAiSeverityRound(const std::string& text) {
  const std::string where = "round result";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  AiSeverityRound r;
  SCV_ASSIGN_OR_RETURN(r.phase, StringField(j, "phase", where, ""));
  if (r.phase == "evaluate") {
    SCV_ASSIGN_OR_RETURN(const int64_t m,
                         IntField(j, "members", where, 0, 0, kMaxAiSeverityMembers));
    r.members = static_cast<int>(m);
    return r;
  }
  if (r.phase != "pca" && r.phase != "newton") {
    return Bad(where, "phase must be pca, newton or evaluate");
  }
  SCV_ASSIGN_OR_RETURN(r.next, StringField(j, "next", where, "evaluate"));
  const json& list = j.value("members", json());
  if (!list.is_array() || list.size() > static_cast<size_t>(kMaxAiSeverityMembers)) {
    return Bad(where, "members must be a list");
  }
  for (size_t m = 0; m < list.size(); ++m) {
    const std::string at = absl::StrCat(where, ", member ", m);
    const json& e = list[m];
    if (!e.is_object()) return Bad(at, "not an object");
    if (r.phase == "pca") {
      AiSeverityPcaMember p;
      SCV_ASSIGN_OR_RETURN(const int64_t k, IntField(e, "components", at, 0, 0, 512));
      p.components = static_cast<int>(k);
      SCV_ASSIGN_OR_RETURN(p.explained_variance, NumberField(e, "explained_variance", at, 0));
      r.pca.push_back(p);
      continue;
    }
    AiSeverityNewtonMember n;
    SCV_ASSIGN_OR_RETURN(n.waiting, BoolField(e, "waiting", at, false));
    if (e.contains("pooled_summary") && !e.at("pooled_summary").is_null()) {
      SCV_ASSIGN_OR_RETURN(n.pooled_summary, ParseSummary(e, "pooled_summary", at));
    }
    if (e.contains("fit") && !e.at("fit").is_null()) {
      const json& f = e.at("fit");
      AiSeverityFit fit;
      SCV_ASSIGN_OR_RETURN(const int64_t it, IntField(f, "iterations", at, 0, 0, 100000));
      fit.iterations = static_cast<int>(it);
      SCV_ASSIGN_OR_RETURN(fit.n, IntField(f, "n", at, 0, 0, kMaxScans));
      SCV_ASSIGN_OR_RETURN(fit.events, IntField(f, "events", at, 0, 0, kMaxScans));
      SCV_ASSIGN_OR_RETURN(fit.log_likelihood, NumberField(f, "log_likelihood", at, 0));
      SCV_ASSIGN_OR_RETURN(fit.coefficients, FiniteNumbers(f, "coefficients", at, 513));
      n.fit = std::move(fit);
    }
    r.newton.push_back(std::move(n));
  }
  return r;
}

}  // namespace scancov::wire
