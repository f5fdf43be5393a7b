#include "privacy/secagg/test_sites.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <map>

namespace scancov::privacy::secagg::test_sites {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test_sites: %s failed\n", what);
    std::abort();
  }
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, len);
  BIO_free(bio);
  return out;
}

}  // namespace

TestSite MakeTestSite(const std::string& id, const std::string& cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Check(key != nullptr, "EVP_EC_gen");
  X509* cert = X509_new();
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("site"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  Check(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign");
  BIO* key_bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  BIO* cert_bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_X509(cert_bio, cert) == 1, "PEM_write_bio_X509");
  X509_free(cert);
  EVP_PKEY_free(key);
  return TestSite{id, BioToString(key_bio), BioToString(cert_bio)};
}

const std::vector<TestSite>& TestSites(int n) {
  static auto* cache = new std::vector<TestSite>();
  while (static_cast<int>(cache->size()) < n) {
    cache->push_back(MakeTestSite(std::string("site-") + static_cast<char>('a' + cache->size())));
  }
  return *cache;
}

SecAggConfig TestConfig(int n, int threshold, size_t vector_length, int neighbours) {
  SecAggConfig config;
  config.study_id = "study-7";
  config.round = 3;
  for (int i = 0; i < n; ++i) {
    config.sites.push_back({TestSites(n)[i].id, TestSites(n)[i].cert_pem});
  }
  config.threshold = threshold;
  config.vector_length = vector_length;
  config.fixed_point = FixedPointParams{24, 100.0, 64};
  config.neighbours = neighbours;
  config.graph_seed = 11;
  return config;
}

}  // namespace scancov::privacy::secagg::test_sites
