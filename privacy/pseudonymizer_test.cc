#include "privacy/pseudonymizer.h"

#include <sys/stat.h>

#include <filesystem>

#include "core/file_util.h"
#include "gtest/gtest.h"

namespace scancov::privacy {
namespace {

TEST(PseudonymizerTest, StableKeyedAndWhitespaceInsensitive) {
  const Pseudonymizer a = Pseudonymizer::FromSecret(std::string(32, 'a'));
  const Pseudonymizer b = Pseudonymizer::FromSecret(std::string(32, 'b'));
  EXPECT_EQ(a.Pseudonym("MRN-0001"), a.Pseudonym(" MRN-0001\n"));
  EXPECT_NE(a.Pseudonym("MRN-0001"), a.Pseudonym("MRN-0002"));
  EXPECT_NE(a.Pseudonym("MRN-0001"), b.Pseudonym("MRN-0001"));
  EXPECT_EQ(a.Pseudonym("MRN-0001").size(), 32u);
  EXPECT_EQ(a.Pseudonym("MRN-0001").find("0001"), std::string::npos);
}

TEST(PseudonymizerTest, CreatesPrivateSecretOnceAndReusesIt) {
  const std::string dir = ::testing::TempDir() + "/pseudo_secret";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(MakeDirs(dir).ok());
  const std::string path = dir + "/site.secret";
  auto first = Pseudonymizer::FromSecretFile(path);
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto second = Pseudonymizer::FromSecretFile(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->Pseudonym("x"), second->Pseudonym("x"));
}

TEST(PseudonymizerTest, RefusesWorldReadableOrShortSecrets) {
  const std::string dir = ::testing::TempDir() + "/pseudo_bad";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(MakeDirs(dir).ok());
  const std::string open_path = dir + "/open.secret";
  ASSERT_TRUE(WriteFileAtomic(open_path, std::string(32, 'k')).ok());
  ::chmod(open_path.c_str(), 0644);
  auto open = Pseudonymizer::FromSecretFile(open_path);
  EXPECT_EQ(open.status().code(), absl::StatusCode::kPermissionDenied);
  const std::string short_path = dir + "/short.secret";
  ASSERT_TRUE(WriteFileAtomic(short_path, "tiny").ok());
  ::chmod(short_path.c_str(), 0600);
  EXPECT_EQ(Pseudonymizer::FromSecretFile(short_path).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::privacy
