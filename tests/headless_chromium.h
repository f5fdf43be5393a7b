// Debian's chromium, headless, for tests that look at a page as a browser runs it: the DOM once
// the page's scripts have run (--dump-dom), or a screenshot. Each run has a fresh profile in a
// temporary folder and a time limit. Chromium not installed is an error that says how to get it
// (scripts/install-deps.sh test), so that a test fails rather than passes without a browser.
#ifndef SCANCOV_TESTS_HEADLESS_CHROMIUM_H_
#define SCANCOV_TESTS_HEADLESS_CHROMIUM_H_

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"

namespace scancov::testing_browser {

// $SCANCOV_CHROMIUM, else the first of chromium, chromium-browser, google-chrome on the PATH.
inline absl::StatusOr<std::string> FindChromium() {
  if (const char* env = std::getenv("SCANCOV_CHROMIUM"); env && *env) {
    if (access(env, X_OK) == 0) return std::string(env);
    return absl::NotFoundError(absl::StrCat("$SCANCOV_CHROMIUM (", env,
                                            ") is not an executable: run "
                                            "scripts/install-deps.sh test, or unset it"));
  }
  const char* path = std::getenv("PATH");
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin", ':')) {
      const std::string candidate = absl::StrCat(dir, "/", name);
      if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return absl::NotFoundError(
      "headless chromium not found (chromium, chromium-browser or google-chrome on the PATH, or "
      "$SCANCOV_CHROMIUM): run scripts/install-deps.sh test");
}

struct ChromiumOptions {
  int virtual_time_budget_ms = 5000;  // page time for its scripts (polls) before the capture
  int timeout_s = 90;                 // wall-clock limit of one run
  std::string window_size = "1280,1600";
  std::vector<std::string> extra_args;  // e.g. "--host-resolver-rules=MAP a.example 127.0.0.1"
};

// Runs chromium on `url` with `mode_args`; its stdout. `url` and the arguments are put in single
// quotes: they must not contain one.
inline absl::StatusOr<std::string> RunChromium(const std::string& url,
                                               const std::vector<std::string>& mode_args,
                                               const ChromiumOptions& options) {
  absl::StatusOr<std::string> chromium = FindChromium();
  if (!chromium.ok()) return chromium.status();
  static int runs = 0;
  const std::string dir = std::filesystem::temp_directory_path().string() + "/scancov_chromium_" +
                          std::to_string(getpid()) + "_" + std::to_string(runs++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/profile");
  std::vector<std::string> args = {
      "--headless",
      "--disable-gpu",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--user-data-dir=" + dir + "/profile",
      "--window-size=" + options.window_size,
      absl::StrCat("--virtual-time-budget=", options.virtual_time_budget_ms)};
  if (geteuid() == 0) args.push_back("--no-sandbox");  // chromium refuses root otherwise
  for (const std::string& a : options.extra_args) args.push_back(a);
  for (const std::string& a : mode_args) args.push_back(a);
  args.push_back(url);
  std::string command = absl::StrCat("timeout ", options.timeout_s, " '", *chromium, "'");
  for (const std::string& a : args) {
    if (a.find('\'') != std::string::npos) return absl::InvalidArgumentError("quote in " + a);
    absl::StrAppend(&command, " '", a, "'");
  }
  absl::StrAppend(&command, " >'", dir, "/out' 2>'", dir, "/err'");
  const int rc = std::system(command.c_str());
  absl::StatusOr<std::string> out = ReadFileToString(dir + "/out");
  absl::StatusOr<std::string> err = ReadFileToString(dir + "/err");
  std::filesystem::remove_all(dir);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("chromium exited with ", rc, " on ", url, ": ",
                                            err.ok() ? err->substr(0, 2000) : ""));
  }
  return out.ok() ? *out : std::string();
}

// The page's DOM, serialized, once its scripts ran for the virtual time budget.
inline absl::StatusOr<std::string> DumpDom(const std::string& url,
                                           const ChromiumOptions& options = {}) {
  return RunChromium(url, {"--dump-dom"}, options);
}

// A PNG of the page at `png_path` (its folder is made).
inline absl::Status Screenshot(const std::string& url, const std::string& png_path,
                               const ChromiumOptions& options = {}) {
  std::filesystem::create_directories(std::filesystem::path(png_path).parent_path());
  std::filesystem::remove(png_path);
  absl::StatusOr<std::string> out = RunChromium(url, {"--screenshot=" + png_path}, options);
  if (!out.ok()) return out.status();
  if (!std::filesystem::exists(png_path) || std::filesystem::file_size(png_path) == 0) {
    return absl::InternalError("chromium wrote no screenshot at " + png_path);
  }
  return absl::OkStatus();
}

}  // namespace scancov::testing_browser

#endif  // SCANCOV_TESTS_HEADLESS_CHROMIUM_H_
