#include "sites/config/site_config.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace scancov::sites {
namespace {

using nlohmann::json;

const std::set<std::string>& KnownKeys() {
  static const auto* keys = new std::set<std::string>{
      "site_id", "aggregator", "aggregator_tls_name", "tls",    "crl",       "data_dir",
      "store",   "secret",     "cache_dir",           "device", "log_level", "privacy",
      "approval"};
  return *keys;
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

absl::StatusOr<std::string> GetString(const json& j, const std::string& key, bool required,
                                      const std::string& where) {
  if (!j.contains(key)) {
    if (required) return absl::InvalidArgumentError(absl::StrCat(where, ": missing '", key, "'"));
    return std::string();
  }
  if (!j.at(key).is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": '", key, "' must be a string"));
  }
  return j.at(key).get<std::string>();
}

absl::Status ParsePrivacy(const json& j, const std::string& where, PrivacySettings* out) {
  if (!j.is_object()) return absl::InvalidArgumentError(where + ": 'privacy' must be an object");
  for (const auto& [key, value] : j.items()) {
    if (key == "min_cell_count") {
      if (!value.is_number_integer() || value.get<int>() < 1) {
        return absl::InvalidArgumentError(where +
                                          ": privacy.min_cell_count must be an integer >= 1");
      }
      out->min_cell_count = value.get<int>();
    } else if (key == "allowed_variables") {
      if (!value.is_array()) {
        return absl::InvalidArgumentError(where + ": privacy.allowed_variables must be a list");
      }
      for (const json& v : value) {
        if (!v.is_string()) {
          return absl::InvalidArgumentError(where + ": privacy.allowed_variables: strings only");
        }
        out->allowed_variables.push_back(v.get<std::string>());
      }
    } else if (key == "max_studies_per_variables" || key == "max_rounds_per_variables") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": privacy.", key, " must be an integer >= 1"));
      }
      (key == "max_studies_per_variables" ? out->max_studies_per_variables
                                          : out->max_rounds_per_variables) = value.get<int64_t>();
    } else if (key == "max_epsilon") {
      if (!value.is_number() || !(value.get<double>() >= 0.0 && value.get<double>() <= 100.0)) {
        return absl::InvalidArgumentError(where +
                                          ": privacy.max_epsilon must be a number in [0, 100]");
      }
      out->max_epsilon = value.get<double>();
    } else if (key == "dp_delta") {
      if (!value.is_number() || !(value.get<double>() > 0.0 && value.get<double>() <= 1e-3)) {
        return absl::InvalidArgumentError(where +
                                          ": privacy.dp_delta must be a number in (0, 0.001]");
      }
      out->dp_delta = value.get<double>();
    } else if (key == "allow_model_weights") {
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError(where + ": privacy.allow_model_weights must be a bool");
      }
      out->allow_model_weights = value.get<bool>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key 'privacy.", key, "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> StringList(const json& j, const std::string& key,
                                                    const std::string& where) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j.at(key).is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".", key, " must be a list"));
  }
  for (const json& v : j.at(key)) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", key, ": strings only"));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

absl::Status ParseApproval(const json& j, const std::string& where,
                           std::vector<ApprovalRule>* out) {
  if (!j.is_object() || !j.contains("rules") || !j.at("rules").is_array()) {
    return absl::InvalidArgumentError(where + ": 'approval' must be {\"rules\": [...]}");
  }
  static const std::set<std::string> kRuleKeys = {"name", "kinds",         "variables", "outcomes",
                                                  "ct",   "model_weights", "min_cohort"};
  for (const json& r : j.at("rules")) {
    const std::string at = absl::StrCat(where, ": approval rule ", out->size() + 1);
    if (!r.is_object()) return absl::InvalidArgumentError(at + " must be an object");
    for (const auto& [key, value] : r.items()) {
      if (!kRuleKeys.count(key)) {
        return absl::InvalidArgumentError(absl::StrCat(at, ": unknown key '", key, "'"));
      }
    }
    ApprovalRule rule;
    SCV_ASSIGN_OR_RETURN(rule.name, GetString(r, "name", true, at));
    SCV_ASSIGN_OR_RETURN(rule.kinds, StringList(r, "kinds", at));
    if (rule.kinds.empty()) {
      return absl::InvalidArgumentError(
          at + ": 'kinds' must name the study kinds it approves (no rule approves everything)");
    }
    SCV_ASSIGN_OR_RETURN(rule.variables, StringList(r, "variables", at));
    SCV_ASSIGN_OR_RETURN(rule.outcomes, StringList(r, "outcomes", at));
    for (const char* flag : {"ct", "model_weights"}) {
      if (r.contains(flag) && !r.at(flag).is_boolean()) {
        return absl::InvalidArgumentError(absl::StrCat(at, ": '", flag, "' must be true or false"));
      }
    }
    rule.ct = r.value("ct", false);
    rule.model_weights = r.value("model_weights", false);
    if (r.contains("min_cohort")) {
      if (!r.at("min_cohort").is_number_integer() || r.at("min_cohort").get<int64_t>() < 0) {
        return absl::InvalidArgumentError(at + ": 'min_cohort' must be an integer >= 0");
      }
      rule.min_cohort = r.at("min_cohort").get<int64_t>();
    }
    out->push_back(std::move(rule));
  }
  return absl::OkStatus();
}

bool IsValidSiteId(const std::string& id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '_')))) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<SiteConfig> ParseSiteConfig(const std::string& text, const std::string& base_dir,
                                           const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not valid JSON: ", e.what()));
  }
  if (!j.is_object()) return absl::InvalidArgumentError(where + ": must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (!KnownKeys().count(key)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key '", key, "'"));
    }
  }
  SiteConfig c;
  SCV_ASSIGN_OR_RETURN(c.site_id, GetString(j, "site_id", true, where));
  if (!IsValidSiteId(c.site_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": site_id '", c.site_id, "' must match [a-z0-9][a-z0-9_-]{0,62}"));
  }
  SCV_ASSIGN_OR_RETURN(c.aggregator, GetString(j, "aggregator", true, where));
  SCV_ASSIGN_OR_RETURN(c.aggregator_tls_name, GetString(j, "aggregator_tls_name", false, where));
  if (!j.contains("tls") || !j.at("tls").is_object()) {
    return absl::InvalidArgumentError(where + ": 'tls' object with ca, cert and key is required");
  }
  const std::string tls_where = where + ": tls";
  SCV_ASSIGN_OR_RETURN(c.ca_cert, GetString(j.at("tls"), "ca", true, tls_where));
  SCV_ASSIGN_OR_RETURN(c.cert, GetString(j.at("tls"), "cert", true, tls_where));
  SCV_ASSIGN_OR_RETURN(c.key, GetString(j.at("tls"), "key", true, tls_where));
  SCV_ASSIGN_OR_RETURN(c.crl, GetString(j, "crl", false, where));
  SCV_ASSIGN_OR_RETURN(c.data_dir, GetString(j, "data_dir", true, where));
  SCV_ASSIGN_OR_RETURN(c.store, GetString(j, "store", true, where));
  SCV_ASSIGN_OR_RETURN(c.secret, GetString(j, "secret", true, where));
  SCV_ASSIGN_OR_RETURN(c.cache_dir, GetString(j, "cache_dir", false, where));
  std::string device, level;
  SCV_ASSIGN_OR_RETURN(device, GetString(j, "device", false, where));
  if (!device.empty()) c.device = device;
  if (c.device != "auto" && c.device != "cpu" && c.device != "cuda") {
    return absl::InvalidArgumentError(where + ": device must be auto, cpu or cuda");
  }
  SCV_ASSIGN_OR_RETURN(level, GetString(j, "log_level", false, where));
  if (!level.empty()) c.log_level = level;
  if (j.contains("privacy")) SCV_RETURN_IF_ERROR(ParsePrivacy(j.at("privacy"), where, &c.privacy));
  if (j.contains("approval")) {
    SCV_RETURN_IF_ERROR(ParseApproval(j.at("approval"), where, &c.approval_rules));
  }
  for (std::string* path :
       {&c.ca_cert, &c.cert, &c.key, &c.crl, &c.data_dir, &c.store, &c.secret, &c.cache_dir}) {
    *path = Resolve(base_dir, *path);
  }
  if (c.cache_dir.empty()) {
    c.cache_dir = (std::filesystem::path(c.store).parent_path() / "cache").string();
  }
  return c;
}

absl::StatusOr<SiteConfig> LoadSiteConfig(const std::string& path) {
  SCV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  const std::string base = std::filesystem::absolute(path).parent_path().string();
  return ParseSiteConfig(text, base, path);
}

std::string SiteConfigToJson(const SiteConfig& c) {
  json j = {{"site_id", c.site_id},
            {"aggregator", c.aggregator},
            {"aggregator_tls_name", c.aggregator_tls_name},
            {"tls", {{"ca", c.ca_cert}, {"cert", c.cert}, {"key", c.key}}},
            {"crl", c.crl},
            {"data_dir", c.data_dir},
            {"store", c.store},
            {"secret", c.secret},
            {"cache_dir", c.cache_dir},
            {"device", c.device},
            {"log_level", c.log_level},
            {"privacy",
             {{"min_cell_count", c.privacy.min_cell_count},
              {"allowed_variables", c.privacy.allowed_variables},
              {"allow_model_weights", c.privacy.allow_model_weights},
              {"max_epsilon", c.privacy.max_epsilon},
              {"dp_delta", c.privacy.dp_delta}}}};
  json rules = json::array();
  for (const ApprovalRule& r : c.approval_rules) {
    rules.push_back({{"name", r.name},
                     {"kinds", r.kinds},
                     {"variables", r.variables},
                     {"outcomes", r.outcomes},
                     {"ct", r.ct},
                     {"model_weights", r.model_weights},
                     {"min_cohort", r.min_cohort}});
  }
  j["approval"] = {{"rules", rules}};
  return j.dump(2);
}

}  // namespace scancov::sites
