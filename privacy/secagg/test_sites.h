// Test-only: sites with real EC P-256 keys and self-signed certificates (CN = site id), made
// with OpenSSL at test time, and a config over them.
#ifndef SCANCOV_PRIVACY_SECAGG_TEST_SITES_H_
#define SCANCOV_PRIVACY_SECAGG_TEST_SITES_H_

#include <string>
#include <vector>

#include "privacy/secagg/config.h"

namespace scancov::privacy::secagg::test_sites {

struct TestSite {
  std::string id;
  std::string key_pem;
  std::string cert_pem;
};

// A fresh P-256 key and a self-signed certificate with subject CN = `cn`. Aborts the test
// binary on an OpenSSL failure (test setup, not code under test).
TestSite MakeTestSite(const std::string& id, const std::string& cn);
inline TestSite MakeTestSite(const std::string& id) { return MakeTestSite(id, id); }

// Sites "site-a", "site-b", ... (cached: key generation is the slow part).
const std::vector<TestSite>& TestSites(int n);

// A config for the first `n` TestSites.
SecAggConfig TestConfig(int n, int threshold, size_t vector_length, int neighbours = 0);

}  // namespace scancov::privacy::secagg::test_sites

#endif  // SCANCOV_PRIVACY_SECAGG_TEST_SITES_H_
