// main() for every GoogleTest executable of the project. CTest runs each test in its own
// process, two at a time or more; giving each process a private TEST_TMPDIR (which
// ::testing::TempDir() reads) keeps tests that use fixed file names from colliding.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string base = "/tmp";
  if (const char* env = getenv("TMPDIR"); env != nullptr && *env) base = env;
  std::string pattern = base + "/scancov-test-XXXXXX";
  const bool private_dir = mkdtemp(pattern.data()) != nullptr;
  if (private_dir) setenv("TEST_TMPDIR", (pattern + "/").c_str(), /*overwrite=*/1);
  const int result = RUN_ALL_TESTS();
  if (private_dir && getenv("SCANCOV_KEEP_TEST_TMPDIR") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(pattern, ignored);
  }
  return result;
}
