// The public configuration of one secure-aggregation session (one study round), and the roster
// derived from it that both the clients and the server consult.
//
// Every party must hold the same SecAggConfig (the integrator ships it with the round). Site
// certificates must already be verified against the consortium CA and revocation list
// (sites/pki); secagg only checks that adverts are signed by them and that their CN is the
// site id.
//
// Neighbourhoods (SecAgg+, Bell et al. 2020): with `neighbours` = k > 0 (even, < n - 1), each
// site masks with, and shares its secrets among, only its k neighbours in a Harary graph
// H(k, n) (a ring in which every site is joined to the k/2 nearest on each side) over a
// permutation of the sites drawn from (study id, round, graph_seed): public, deterministic, and
// still (k/2)-connected after dropouts. k = 0 (the default) is the complete graph of the
// original SecAgg (Bonawitz et al. 2017). Threshold t counts shares within a neighbourhood
// (the site and its k neighbours, k + 1 sites) and must be a majority of it, 2t > k + 1: a
// server that told two disjoint halves different stories about who dropped out could otherwise
// collect both the self-mask seed and the masking key of one site.
#ifndef SCANCOV_PRIVACY_SECAGG_CONFIG_H_
#define SCANCOV_PRIVACY_SECAGG_CONFIG_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "privacy/secagg/fixed_point.h"

namespace scancov::privacy::secagg {

inline constexpr size_t kMaxIdBytes = 256;
inline constexpr size_t kMaxSites = 255;  // Shamir over GF(2^8): share indices 1..255
inline constexpr size_t kMaxVectorLength = size_t{1} << 27;

struct SecAggSite {
  std::string id;
  std::string certificate_pem;  // verified by the caller against the consortium CA
};

struct SecAggConfig {
  std::string study_id;
  uint64_t round = 0;
  std::vector<SecAggSite> sites;  // sites[i] holds Shamir share index i + 1
  int threshold = 0;              // t
  size_t vector_length = 0;
  FixedPointParams fixed_point;
  int neighbours = 0;  // SecAgg+ neighbourhood size k (even); 0: complete graph
  uint64_t graph_seed = 0;
};

// A validated config with lookups. Immutable; thread-safe.
class SecAggRoster {
 public:
  static absl::StatusOr<SecAggRoster> Create(SecAggConfig config);

  const SecAggConfig& config() const { return config_; }
  const FixedPointCodec& codec() const { return codec_; }
  int threshold() const { return config_.threshold; }

  bool Contains(absl::string_view site) const { return index_.count(std::string(site)) > 0; }
  // Requires Contains(site).
  uint8_t ShareIndex(absl::string_view site) const;
  const std::string& Certificate(absl::string_view site) const;
  // The sites `site` masks with and shares among, itself excluded. Requires Contains(site).
  const std::set<std::string>& Neighbours(absl::string_view site) const;
  bool AreNeighbours(absl::string_view a, absl::string_view b) const;

 private:
  SecAggRoster(SecAggConfig config, FixedPointCodec codec)
      : config_(std::move(config)), codec_(codec) {}

  SecAggConfig config_;
  FixedPointCodec codec_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::set<std::string>> neighbours_;
};

// The neighbour sets of the Harary graph H(k, n) over `sites` permuted by `permutation_key`
// (k even, 2 <= k < n - 1), or the complete graph when k == 0 or k >= n - 1.
std::map<std::string, std::set<std::string>> BuildNeighbourhoods(
    const std::vector<std::string>& sites, int k, const std::string& permutation_key);

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_CONFIG_H_
