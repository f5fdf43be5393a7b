#include "privacy/secagg/config.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "privacy/secagg/mask_generator.h"
#include "privacy/secagg/wire.h"

namespace scancov::privacy::secagg {
namespace {

absl::Status CheckId(absl::string_view id, absl::string_view what) {
  if (id.empty() || id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg config: ", what, " must have 1 to ", kMaxIdBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckSites(const SecAggConfig& c) {
  if (c.sites.size() < 2 || c.sites.size() > kMaxSites) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg config: ", c.sites.size(), " sites, need 2 to ", kMaxSites));
  }
  std::set<std::string> seen;
  for (const SecAggSite& site : c.sites) {
    if (absl::Status s = CheckId(site.id, "a site id"); !s.ok()) return s;
    if (!seen.insert(site.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("secagg config: site '", site.id, "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckShape(const SecAggConfig& c) {
  const int n = static_cast<int>(c.sites.size());
  if (c.neighbours != 0 && (c.neighbours < 2 || c.neighbours % 2 != 0 || c.neighbours >= n)) {
    return absl::InvalidArgumentError(absl::StrCat("secagg config: neighbours ", c.neighbours,
                                                   " must be 0 or even in [2, ", n - 1, "]"));
  }
  const int group = (c.neighbours == 0 ? n - 1 : c.neighbours) + 1;
  if (c.threshold < 2 || c.threshold > group || 2 * c.threshold <= group) {
    return absl::InvalidArgumentError(absl::StrCat("secagg config: threshold ", c.threshold,
                                                   " must be a majority of a neighbourhood of ",
                                                   group, " sites, and >= 2"));
  }
  if (c.vector_length == 0 || c.vector_length > kMaxVectorLength) {
    return absl::InvalidArgumentError(absl::StrCat("secagg config: vector_length ", c.vector_length,
                                                   " not in [1, ", kMaxVectorLength, "]"));
  }
  if (c.fixed_point.max_summands < n) {
    return absl::InvalidArgumentError(absl::StrCat("secagg config: fixed_point.max_summands ",
                                                   c.fixed_point.max_summands, " is below the ", n,
                                                   " sites"));
  }
  return absl::OkStatus();
}

std::string PermutationKey(const SecAggConfig& c) {
  WireWriter w;
  w.Bytes("scancov-secagg-graph-v1");
  w.Bytes(c.study_id);
  w.U64(c.round);
  w.U64(c.graph_seed);
  return Sha256Digest(w.Take());
}

}  // namespace

std::map<std::string, std::set<std::string>> BuildNeighbourhoods(
    const std::vector<std::string>& sites, int k, const std::string& permutation_key) {
  const size_t n = sites.size();
  std::vector<std::string> ring(sites);
  std::sort(ring.begin(), ring.end());
  Bytes32 key{};
  std::copy_n(permutation_key.begin(), std::min(permutation_key.size(), key.size()), key.begin());
  // A public Fisher-Yates shuffle (the modulo bias over 64-bit draws is irrelevant: the graph
  // is public and only needs to be fixed in advance).
  const std::vector<uint64_t> draws = ExpandMask(key, n).value_or(std::vector<uint64_t>(n, 0));
  for (size_t i = n; i > 1; --i) std::swap(ring[i - 1], ring[draws[i - 1] % i]);
  const bool complete = k == 0 || static_cast<size_t>(k) >= n - 1;
  std::map<std::string, std::set<std::string>> out;
  for (size_t p = 0; p < n; ++p) {
    std::set<std::string>& mine = out[ring[p]];
    for (size_t d = 1; d < n; ++d) {
      if (complete || d <= static_cast<size_t>(k / 2) || n - d <= static_cast<size_t>(k / 2)) {
        mine.insert(ring[(p + d) % n]);
      }
    }
  }
  return out;
}

absl::StatusOr<SecAggRoster> SecAggRoster::Create(SecAggConfig config) {
  if (absl::Status s = CheckId(config.study_id, "study_id"); !s.ok()) return s;
  if (absl::Status s = CheckSites(config); !s.ok()) return s;
  if (absl::Status s = CheckShape(config); !s.ok()) return s;
  absl::StatusOr<FixedPointCodec> codec = FixedPointCodec::Create(config.fixed_point);
  if (!codec.ok()) return Annotate(codec.status(), "secagg config");
  const std::string key = PermutationKey(config);
  SecAggRoster roster(std::move(config), *codec);
  std::vector<std::string> ids;
  for (size_t i = 0; i < roster.config_.sites.size(); ++i) {
    roster.index_[roster.config_.sites[i].id] = i;
    ids.push_back(roster.config_.sites[i].id);
  }
  roster.neighbours_ = BuildNeighbourhoods(ids, roster.config_.neighbours, key);
  return roster;
}

uint8_t SecAggRoster::ShareIndex(absl::string_view site) const {
  return static_cast<uint8_t>(index_.at(std::string(site)) + 1);
}

const std::string& SecAggRoster::Certificate(absl::string_view site) const {
  return config_.sites[index_.at(std::string(site))].certificate_pem;
}

const std::set<std::string>& SecAggRoster::Neighbours(absl::string_view site) const {
  return neighbours_.at(std::string(site));
}

bool SecAggRoster::AreNeighbours(absl::string_view a, absl::string_view b) const {
  auto it = neighbours_.find(std::string(a));
  return it != neighbours_.end() && it->second.count(std::string(b)) > 0;
}

}  // namespace scancov::privacy::secagg
