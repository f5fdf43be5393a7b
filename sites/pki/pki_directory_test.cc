#include "sites/pki/pki_directory.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "absl/time/clock.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sites/pki/pki_test_util.h"
#include "sites/pki/secure_file.h"
#include "sites/pki/verify.h"

namespace scancov::sites {
namespace {

using ::scancov::sites::testing::FileMode;
using ::scancov::sites::testing::ScopedTempDir;
using ::testing::HasSubstr;

// Sets the process umask for one test, so modes are shown not to come from it.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

CaOptions Consortium() {
  CaOptions options;
  options.consortium = "Test Consortium";
  return options;
}

IssueOptions Options(Role role, const std::string& id) {
  IssueOptions options;
  options.role = role;
  options.id = id;
  return options;
}

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileToString(path);
  EXPECT_TRUE(contents.ok()) << contents.status();
  return contents.ok() ? *contents : "";
}

class PkiDirectoryTest : public ::testing::Test {
 protected:
  ScopedTempDir tmp_;
  PkiDirectory pki_{tmp_.path() + "/pki"};
};

TEST_F(PkiDirectoryTest, LayoutPaths) {
  const std::string root = tmp_.path() + "/pki";
  EXPECT_EQ(pki_.CaCertificatePath(), root + "/ca.crt");
  EXPECT_EQ(pki_.CaKeyPath(), root + "/ca.key");
  EXPECT_EQ(pki_.CertificatePath({Role::kSite, "kb"}), root + "/sites/kb.crt");
  EXPECT_EQ(pki_.KeyPath({Role::kSite, "kb"}), root + "/sites/kb.key");
  EXPECT_EQ(pki_.CertificatePath({Role::kCoordinator, "alice"}), root + "/coordinators/alice.crt");
  EXPECT_EQ(pki_.CertificatePath({Role::kAggregator, "aggregator"}),
            root + "/aggregators/aggregator.crt");
}

TEST_F(PkiDirectoryTest, WritesKeysPrivateAndCertificatesReadableWhateverTheUmask) {
  ScopedUmask permissive(0);
  ASSERT_TRUE(pki_.CreateCa(Consortium(), Overwrite::kRefuse).ok());
  EXPECT_EQ(FileMode(pki_.CaKeyPath()), 0600);
  EXPECT_EQ(FileMode(pki_.CaCertificatePath()), 0644);
  for (const PeerIdentity& who :
       {PeerIdentity{Role::kSite, "kb"}, PeerIdentity{Role::kCoordinator, "alice"},
        PeerIdentity{Role::kAggregator, "aggregator"}}) {
    absl::StatusOr<CertificateAndKey> issued =
        pki_.Issue(Options(who.role, who.id), Overwrite::kRefuse);
    ASSERT_TRUE(issued.ok()) << issued.status();
    EXPECT_EQ(FileMode(pki_.KeyPath(who)), 0600);
    EXPECT_EQ(FileMode(pki_.CertificatePath(who)), 0644);
    EXPECT_EQ(Read(pki_.CertificatePath(who)), issued->certificate_pem);
    EXPECT_EQ(Read(pki_.KeyPath(who)), issued->private_key_pem);
    absl::StatusOr<PeerIdentity> verified = VerifyCertificate(
        Read(pki_.CertificatePath(who)), Read(pki_.CaCertificatePath()), absl::Now());
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(*verified, who);
  }
  // No temporary files are left behind.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(pki_.root())) {
    EXPECT_THAT(entry.path().string(), ::testing::Not(HasSubstr(".tmp"))) << entry.path();
  }
}

TEST_F(PkiDirectoryTest, RefusesToOverwriteCaUnlessAllowed) {
  ASSERT_TRUE(pki_.CreateCa(Consortium(), Overwrite::kRefuse).ok());
  const std::string cert = Read(pki_.CaCertificatePath());
  const std::string key = Read(pki_.CaKeyPath());
  absl::StatusOr<CertificateAndKey> again = pki_.CreateCa(Consortium(), Overwrite::kRefuse);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("ca.key"));
  EXPECT_EQ(Read(pki_.CaCertificatePath()), cert);
  EXPECT_EQ(Read(pki_.CaKeyPath()), key);

  ASSERT_TRUE(pki_.CreateCa(Consortium(), Overwrite::kAllow).ok());
  EXPECT_NE(Read(pki_.CaCertificatePath()), cert);
  EXPECT_NE(Read(pki_.CaKeyPath()), key);
  EXPECT_EQ(FileMode(pki_.CaKeyPath()), 0600);
}

TEST_F(PkiDirectoryTest, RefusesToOverwriteIssuedCertificateUnlessAllowed) {
  ASSERT_TRUE(pki_.CreateCa(Consortium(), Overwrite::kRefuse).ok());
  const PeerIdentity kb{Role::kSite, "kb"};
  ASSERT_TRUE(pki_.Issue(Options(kb.role, kb.id), Overwrite::kRefuse).ok());
  const std::string cert = Read(pki_.CertificatePath(kb));
  const std::string key = Read(pki_.KeyPath(kb));

  absl::StatusOr<CertificateAndKey> again = pki_.Issue(Options(kb.role, kb.id), Overwrite::kRefuse);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(pki_.CertificatePath(kb)), cert);
  EXPECT_EQ(Read(pki_.KeyPath(kb)), key);

  // A stray certificate alone (key missing) is refused too, and no key is written.
  std::filesystem::remove(pki_.KeyPath(kb));
  EXPECT_EQ(pki_.Issue(Options(kb.role, kb.id), Overwrite::kRefuse).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(pki_.KeyPath(kb)));

  ASSERT_TRUE(pki_.Issue(Options(kb.role, kb.id), Overwrite::kAllow).ok());
  EXPECT_NE(Read(pki_.CertificatePath(kb)), cert);
  EXPECT_EQ(FileMode(pki_.KeyPath(kb)), 0600);
}

TEST_F(PkiDirectoryTest, IssueRefusesInvalidIdBeforeTouchingTheDisk) {
  ASSERT_TRUE(pki_.CreateCa(Consortium(), Overwrite::kRefuse).ok());
  for (const char* bad : {"../evil", "Kb", "", "a/b"}) {
    EXPECT_EQ(pki_.Issue(Options(Role::kSite, bad), Overwrite::kAllow).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_FALSE(std::filesystem::exists(pki_.RoleDirectory(Role::kSite)));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/evil.key"));
}

TEST_F(PkiDirectoryTest, IssueWithoutCaFails) {
  absl::StatusOr<CertificateAndKey> issued =
      pki_.Issue(Options(Role::kSite, "kb"), Overwrite::kRefuse);
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(issued.status().message(), HasSubstr("ca.crt"));
}

TEST_F(PkiDirectoryTest, LoadCaRefusesKeyReadableByOthers) {
  ASSERT_TRUE(pki_.CreateCa(Consortium(), Overwrite::kRefuse).ok());
  ASSERT_TRUE(pki_.LoadCa().ok());
  ASSERT_EQ(::chmod(pki_.CaKeyPath().c_str(), 0644), 0);
  absl::StatusOr<CertificateAndKey> ca = pki_.LoadCa();
  EXPECT_EQ(ca.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(ca.status().message(), HasSubstr("chmod 600"));
  EXPECT_EQ(pki_.Issue(Options(Role::kSite, "kb"), Overwrite::kRefuse).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(SecureFileTest, WriteFileWithModeRefusesExistingFileAndSymlink) {
  ScopedTempDir tmp;
  const std::string path = tmp.path() + "/f";
  ASSERT_TRUE(WriteFileWithMode(path, "one", 0640, Overwrite::kRefuse).ok());
  EXPECT_EQ(FileMode(path), 0640);
  EXPECT_EQ(WriteFileWithMode(path, "two", 0640, Overwrite::kRefuse).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(path), "one");

  const std::string link = tmp.path() + "/link";
  std::filesystem::create_symlink(tmp.path() + "/target", link);
  EXPECT_EQ(WriteFileWithMode(link, "x", 0600, Overwrite::kRefuse).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/target"));

  EXPECT_EQ(WriteFileWithMode(tmp.path() + "/missing/f", "x", 0600, Overwrite::kAllow).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::sites
