// Test-only: a whole secure-aggregation federation in one process (N SecAggClients and a
// SecAggServer) whose messages all cross a fake wire (serialised and parsed again), with hooks
// for dropping sites out at each step and for tampering with messages between steps.
#ifndef SCANCOV_PRIVACY_SECAGG_TEST_FEDERATION_H_
#define SCANCOV_PRIVACY_SECAGG_TEST_FEDERATION_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "privacy/secagg/client.h"
#include "privacy/secagg/server.h"
#include "privacy/secagg/test_sites.h"

namespace scancov::privacy::secagg::test_sites {

// Serialises and parses a message, as the transport would.
template <typename T>
T Wire(const T& message) {
  absl::StatusOr<T> parsed = T::Parse(message.Serialize());
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *std::move(parsed) : T{};
}

struct Dropouts {
  std::set<std::string> before_sharing;  // advertised keys, then gone
  std::set<std::string> before_masking;  // shared keys, then gone: input excluded
  std::set<std::string> before_unmask;   // input arrived, then unreachable: input included
};

class Federation {
 public:
  // `sites[i]` holds the key of config.sites[i]. Inputs are uniform in [-100, 100], seeded.
  Federation(SecAggConfig config, const std::vector<TestSite>& sites, uint64_t seed = 1);

  absl::Status Advertise();
  absl::Status Share(const Dropouts& d = {});
  absl::Status Mask(const Dropouts& d = {});
  absl::Status Unmask(const Dropouts& d = {});
  absl::StatusOr<SecAggResult> Run(const Dropouts& d = {});

  // The exact ring sum and the plain double sum of the named sites' inputs.
  std::pair<std::vector<uint64_t>, std::vector<double>> Expected(
      const std::vector<std::string>& sites);

  SecAggClient& client(const std::string& id) { return clients_.at(id); }
  SecAggServer& server() { return server_; }
  const SecAggConfig& config() const { return config_; }
  AdvertList& list() { return list_; }
  ShareBundle& bundle(const std::string& recipient);
  UnmaskRequest& request(const std::string& recipient);
  std::map<std::string, KeyAdvert>& adverts() { return adverts_; }
  std::map<std::string, std::vector<double>>& inputs() { return inputs_; }
  std::map<std::string, std::vector<uint64_t>>& masked() { return masked_; }
  // Mask() notes the inputs and sums them outside the server (NoteMaskedInput, FinishWithSum).
  void set_sum_outside(bool on) { sum_outside_ = on; }

 private:
  SecAggConfig config_;
  SecAggServer server_;
  std::vector<std::unique_ptr<DeterministicRandom>> randoms_;
  std::map<std::string, SecAggClient> clients_;
  std::map<std::string, std::vector<double>> inputs_;
  std::map<std::string, KeyAdvert> adverts_;
  AdvertList list_;
  std::vector<ShareBundle> bundles_;
  std::map<std::string, std::vector<uint64_t>> masked_;
  std::vector<UnmaskRequest> requests_;
  bool sum_outside_ = false;
  std::vector<uint64_t> outside_sum_;
};

// Five sites, t = 3.
Federation FiveSites(size_t length = 257, uint64_t seed = 1);

// Expects `result` to be exactly the sum of `sites`' inputs (ring) and within the fixed-point
// resolution (doubles).
void ExpectSumOf(Federation& f, const SecAggResult& result, const std::vector<std::string>& sites);

}  // namespace scancov::privacy::secagg::test_sites

#endif  // SCANCOV_PRIVACY_SECAGG_TEST_FEDERATION_H_
