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

TEST_F(PkiDirectoryTest, KeyMadeAtTheSiteAndRequestSignedAtTheCa) {
  ScopedUmask permissive(0);
  ASSERT_TRUE(pki_.CreateCa(Consortium(), Overwrite::kRefuse).ok());
  const std::string key_path = tmp_.path() + "/site/state/kb.key";
  const std::string csr_path = tmp_.path() + "/site/kb.csr";
  RequestOptions request;
  request.role = Role::kSite;
  request.id = "kb";
  absl::StatusOr<RequestAndKey> made =
      WriteKeyAndRequest(request, key_path, csr_path, Overwrite::kRefuse);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(FileMode(key_path), 0600);
  EXPECT_EQ(FileMode(csr_path), 0644);
  EXPECT_EQ(Read(key_path), made->private_key_pem);
  // A key in use is never replaced by accident, and nothing else is written either.
  const std::string csr = Read(csr_path);
  std::filesystem::remove(csr_path);
  EXPECT_EQ(WriteKeyAndRequest(request, key_path, csr_path, Overwrite::kRefuse).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(csr_path));
  EXPECT_EQ(Read(key_path), made->private_key_pem);

  SignOptions sign;
  sign.role = Role::kSite;
  sign.id = "kb";
  absl::StatusOr<SignedRequest> signed_request = pki_.Sign(csr, sign, Overwrite::kRefuse);
  ASSERT_TRUE(signed_request.ok()) << signed_request.status();
  const PeerIdentity kb{Role::kSite, "kb"};
  EXPECT_EQ(Read(pki_.CertificatePath(kb)), signed_request->certificate_pem);
  EXPECT_EQ(FileMode(pki_.CertificatePath(kb)), 0644);
  EXPECT_FALSE(std::filesystem::exists(pki_.KeyPath(kb)));  // the CA holds no site key
  EXPECT_EQ(pki_.Sign(csr, sign, Overwrite::kRefuse).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(pki_.Sign(csr, sign, Overwrite::kAllow).ok());

  sign.role = Role::kCoordinator;
  EXPECT_EQ(pki_.Sign(csr, sign, Overwrite::kRefuse).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(std::filesystem::exists(pki_.CertificatePath({Role::kCoordinator, "kb"})));
}

TEST_F(PkiDirectoryTest, RevokeRecordsAndEachCrlIsNumberedOnePastTheLast) {
  ASSERT_TRUE(pki_.CreateCa(Consortium(), Overwrite::kRefuse).ok());
  absl::StatusOr<RevocationList> first = pki_.WriteCrl(CrlOptions());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->crl_number(), 1u);
  EXPECT_TRUE(first->entries().empty());
  EXPECT_EQ(FileMode(pki_.CrlPath()), 0644);

  absl::StatusOr<CertificateAndKey> kb = pki_.Issue(Options(Role::kSite, "kb"), Overwrite::kRefuse);
  ASSERT_TRUE(kb.ok());
  absl::StatusOr<RevocationRecord> record =
      pki_.Revoke(kb->certificate_pem, RevocationReason::kKeyCompromise, absl::Now());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(
      pki_.Revoke(kb->certificate_pem, RevocationReason::kSuperseded, absl::Now()).status().code(),
      absl::StatusCode::kAlreadyExists);
  absl::StatusOr<std::vector<RevocationRecord>> recorded = pki_.Revocations();
  ASSERT_TRUE(recorded.ok());
  ASSERT_EQ(recorded->size(), 1u);
  EXPECT_EQ((*recorded)[0].revoked.reason, RevocationReason::kKeyCompromise);

  CrlOptions options;
  options.valid_days = 3;
  options.crl_number = 99;  // ignored: the directory numbers its CRLs
  absl::StatusOr<RevocationList> second = pki_.WriteCrl(options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->crl_number(), 2u);
  EXPECT_EQ(second->next_update() - second->this_update(), absl::Hours(72));
  EXPECT_NE(second->Find(record->revoked.serial_hex), nullptr);
  absl::StatusOr<RevocationList> on_disk =
      RevocationList::Parse(Read(pki_.CrlPath()), Read(pki_.CaCertificatePath()));
  ASSERT_TRUE(on_disk.ok());
  EXPECT_EQ(on_disk->crl_number(), 2u);
  EXPECT_EQ(on_disk->CheckCertificate(kb->certificate_pem).code(),
            absl::StatusCode::kUnauthenticated);

  // Another CA's certificate cannot be revoked here.
  PkiDirectory other(tmp_.path() + "/other");
  ASSERT_TRUE(other.CreateCa(Consortium(), Overwrite::kRefuse).ok());
  absl::StatusOr<CertificateAndKey> foreign =
      other.Issue(Options(Role::kSite, "kb"), Overwrite::kRefuse);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(pki_.Revoke(foreign->certificate_pem, RevocationReason::kUnspecified, absl::Now())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
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
