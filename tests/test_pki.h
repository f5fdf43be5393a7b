// A test's consortium: a fresh folder named after the running test, a CA whose certificate is
// written there (ca.crt), and certificates issued from it, each with its key, as TLS files.
#ifndef SCANCOV_TESTS_TEST_PKI_H_
#define SCANCOV_TESTS_TEST_PKI_H_

#include <filesystem>
#include <string>

#include "core/file_util.h"
#include "gtest/gtest.h"
#include "protocol/grpc_util.h"
#include "sites/pki/certificate_authority.h"

namespace scancov::testing_sites {

class TestPki {
 public:
  // A fresh TempDir()/<prefix><test name> with the CA in it.
  void Init(const std::string& prefix) {
    dir_ = ::testing::TempDir() + "/" + prefix +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(MakeDirs(dir_).ok());
    auto ca = sites::CreateCertificateAuthority({"Test Consortium"});
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/ca.crt", ca_.certificate_pem).ok());
  }

  // A certificate for `id` in `role`, written as <dir>/<id>.crt and .key.
  protocol::TlsFiles Issue(sites::Role role, const std::string& id) {
    sites::IssueOptions options;
    options.role = role;
    options.id = id;
    auto issued = sites::IssueCertificate(ca_, options);
    EXPECT_TRUE(issued.ok()) << issued.status();
    const std::string base = dir_ + "/" + id;
    EXPECT_TRUE(WriteFileAtomic(base + ".crt", issued->certificate_pem).ok());
    EXPECT_TRUE(WriteFileAtomic(base + ".key", issued->private_key_pem).ok());
    return {dir_ + "/ca.crt", base + ".crt", base + ".key"};
  }

  const std::string& dir() const { return dir_; }
  const sites::CertificateAndKey& ca() const { return ca_; }

 private:
  std::string dir_;
  sites::CertificateAndKey ca_;
};

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_TEST_PKI_H_
