// SiteConfig: a hospital node's configuration, read from a JSON "site file" that the data
// steward owns. Relative paths in the file are resolved against the file's own directory.
//
//   {
//     "site_id": "kb",                       // must match the CN of the site certificate
//     "aggregator": "aggregator.example.org:7443",
//     "aggregator_tls_name": "",             // optional: name checked on the server certificate
//     "tls": {"ca": "pki/ca.crt", "cert": "pki/sites/kb.crt", "key": "state/kb.key"},
//     "crl": "pki/crl.pem",                 // optional: the consortium's CRL; the aggregator's
//                                            // certificate is checked against it on every
//                                            // connection (reloaded when the file changes)
//     "data_dir": "data",                    // where the site's DICOM and CSV exports live
//     "store": "state/node.db",              // the node's SQLite store (never leaves the site)
//     "secret": "state/site.secret",         // pseudonymisation key (created 0600 on first use)
//     "cache_dir": "state/cache",            // decoded volumes
//     "device": "auto",                      // auto | cpu | cuda
//     "log_level": "info",
//     "privacy": {
//       "min_cell_count": 10,                // events and non-events per variable, at least
//       "allowed_variables": [],             // empty: all; else the only variables (admission,
//                                            // CT, ai_severity:<study>) any analysis reads
//                                            // (privacy::IsVariableAllowed)
//       "allow_model_weights": true,         // may trained weights leave the site?
//       "max_epsilon": 0,                    // > 0: weights leave only under differential
//       "dp_delta": 1e-5                     // privacy, and at most this epsilon (at dp_delta)
//     },                                     // in all (node/dp_filter.h)
//     "approval": {                          // optional: studies approved without asking
//       "rules": [{"name": "tabular-analyses",          // the steward (node/approvals.h)
//                  "kinds": ["univariate_association", "cohort_description"],  // required
//                  "variables": ["age", "sex", ...],      // the most a study may read
//                  "outcomes": ["severe"],
//                  "ct": false, "model_weights": false,  // may it read CT, release weights?
//                  "min_cohort": 50}]                    // rows a task so approved reads, at least
//     }
//   }
#ifndef SCANCOV_SITES_CONFIG_SITE_CONFIG_H_
#define SCANCOV_SITES_CONFIG_SITE_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace scancov::sites {

struct PrivacySettings {
  int min_cell_count = 10;
  std::vector<std::string> allowed_variables;  // empty: all
  bool allow_model_weights = true;
  // The budget of studies and of rounds (tasks) that may read the same variables and outcome
  // (node/cohort_guard.h); `scancov-node budget` shows what is used.
  int64_t max_studies_per_variables = 25;
  int64_t max_rounds_per_variables = 2000;
  // Differential privacy (node/dp_filter.h): with max_epsilon > 0, model weights leave only
  // from studies that ask for DP, and the site's releases together stay within max_epsilon at
  // dp_delta. 0: no maximum (studies that ask for DP are still accounted).
  double max_epsilon = 0.0;
  double dp_delta = 1e-5;
};

// A pre-approval rule (node/approvals.h): it approves a study whose kind it names and whose
// reads and releases are within it. There is no "approve everything" rule.
struct ApprovalRule {
  std::string name;
  std::vector<std::string> kinds;      // required, non-empty
  std::vector<std::string> variables;  // empty: none
  std::vector<std::string> outcomes;   // empty: none
  bool ct = false;
  bool model_weights = false;
  int64_t min_cohort = 0;
};

struct SiteConfig {
  std::string site_id;
  std::string aggregator;
  std::string aggregator_tls_name;
  std::string ca_cert;
  std::string cert;
  std::string key;
  std::string crl;  // empty: no revocation check of the aggregator
  std::string data_dir;
  std::string store;
  std::string secret;
  std::string cache_dir;
  std::string device = "auto";
  std::string log_level = "info";
  PrivacySettings privacy;
  std::vector<ApprovalRule> approval_rules;
};

// Parses and validates a site file; errors name the file and the offending key.
absl::StatusOr<SiteConfig> LoadSiteConfig(const std::string& path);
// Same, from text; relative paths are resolved against `base_dir`.
absl::StatusOr<SiteConfig> ParseSiteConfig(const std::string& json, const std::string& base_dir,
                                           const std::string& where);
// The JSON form of a config (absolute paths), e.g. for `scancov-node show-config`.
std::string SiteConfigToJson(const SiteConfig& config);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_CONFIG_SITE_CONFIG_H_
