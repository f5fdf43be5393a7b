// bench_dicom_decode: DICOM series decode throughput of the node's importer, side by side with
// pydicom on the same series.
//
//   bench_dicom_decode --pydicom bench/bench_pydicom.py            # full-scale phantom
//   bench_dicom_decode --dir /data/ct/series1 --threads 1 --repeat 5
//
// Without --dir it writes a full-scale phantom (512 x 512 x 400, explicit little endian) to
// --work (default /tmp/scancov_bench_ct) once and reuses it. Every timing is the best of
// --repeat runs after one warm-up (files in the page cache): this measures decoding, not disk.
// --cold evicts the files before every run instead (bench/decode_by_syntax.sh runs both).
// Throughput: slices/s and MB/s of decoded HU (2 bytes per voxel; the same as the pixel
// bytes of an uncompressed file).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "node/imaging/dicom_importer.h"
#include "sites/ct/phantom_writer.h"

namespace {

using Clock = std::chrono::steady_clock;

// --cold: the series' files are evicted from the page cache before every timed run (and there is
// no warm-up), so each run reads them from the disk (or the hypervisor's cache below it).
std::string g_cold_dir;

// Drops every file under `dir` from the page cache (written back first, so that its pages are
// clean and can go). No root needed: posix_fadvise on files the process can open.
void Evict(const std::string& dir) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const int fd = open(entry.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    (void)fdatasync(fd);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
}

template <typename F>
double BestSeconds(int repeat, F&& f) {
  if (g_cold_dir.empty()) f();  // warm-up
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    if (!g_cold_dir.empty()) Evict(g_cold_dir);
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

int64_t HuSum(const std::vector<int16_t>& hu) {
  int64_t sum = 0;
  for (int16_t v : hu) sum += v;
  return sum;
}

void Row(const char* what, double seconds, int slices, double mb) {
  std::printf("%-34s %8.3f s %9.1f slices/s %9.1f MB/s\n", what, seconds, slices / seconds,
              mb / seconds);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, work = "/tmp/scancov_bench_ct", pydicom, python = "/usr/bin/python3";
  int threads = 0, repeat = 3, slices = 400;
  CLI::App app{"DICOM series decode throughput: scancov importer vs pydicom"};
  app.add_option("--dir", dir, "folder with one CT series (default: a generated phantom)");
  app.add_option("--work", work, "where to generate the phantom");
  app.add_option("--slices", slices, "slices of the generated phantom");
  app.add_option("--threads", threads, "decoder threads (0 = all cores)");
  app.add_option("--repeat", repeat, "timed runs (best is reported)");
  app.add_option("--pydicom", pydicom, "path of bench_pydicom.py, to run pydicom alongside");
  app.add_option("--python", python, "python interpreter with pydicom and numpy");
  bool cold = false;
  app.add_flag("--cold", cold,
               "evict the series' files from the page cache before every timed run (no warm-up)");
  CLI11_PARSE(app, argc, argv);

  if (dir.empty()) {
    dir = work + "/dicom";
    scancov::sites::PhantomSpec spec;
    spec.scanner = scancov::sites::FullScanner();
    spec.scanner.number_of_slices = slices;
    spec.disease.extent_right = 0.3;
    spec.disease.extent_left = 0.2;
    const std::string stamp = work + "/.complete_" + std::to_string(slices);
    if (!std::filesystem::exists(stamp)) {
      std::filesystem::remove_all(work);
      std::printf("generating a %dx%dx%d phantom in %s ...\n", spec.scanner.columns,
                  spec.scanner.rows, slices, work.c_str());
      auto files = scancov::sites::WritePhantomSeries(spec, work);
      if (!files.ok()) {
        std::fprintf(stderr, "%s\n", std::string(files.status().message()).c_str());
        return 1;
      }
      std::FILE* f = std::fopen(stamp.c_str(), "w");
      if (f) std::fclose(f);
    }
  }

  const auto pseudonymizer = scancov::privacy::Pseudonymizer::FromSecret(std::string(32, 'b'));
  scancov::node::ImportOptions options;
  options.threads = threads;
  const scancov::node::DicomImporter importer(pseudonymizer, options);
  scancov::node::ImportOptions single_options = options;
  single_options.threads = 1;
  const scancov::node::DicomImporter single(pseudonymizer, single_options);

  auto inventory = importer.Scan(dir);
  if (!inventory.ok() || inventory->candidates.empty()) {
    std::fprintf(stderr, "no importable series in %s\n", dir.c_str());
    return 1;
  }
  const scancov::node::SeriesCandidate& series = inventory->candidates.front();
  const int n = series.geometry.nz;
  const double mb = 2.0 * series.geometry.nx * series.geometry.ny * n / 1e6;
  std::printf("series: %d x %d x %d, %.1f MB of HU, %s\n", series.geometry.nx, series.geometry.ny,
              n, mb, series.slices.front().transfer_syntax_name.c_str());

  if (cold) g_cold_dir = dir;
  std::printf("page cache: %s\n", cold ? "cold (files evicted before every run)" : "warm");
  int64_t checksum = 0;
  const double scan_s = BestSeconds(repeat, [&] { (void)importer.Scan(dir); });
  const double decode1_s = BestSeconds(repeat, [&] { (void)single.LoadSeries(series); });
  const double decode_s = BestSeconds(repeat, [&] {
    auto v = importer.LoadSeries(series);
    if (v.ok()) checksum = HuSum(v->volume.voxels);
  });
  const double import1_s = BestSeconds(repeat, [&] {
    auto inv = single.Scan(dir);
    if (inv.ok()) (void)single.LoadSeries(inv->candidates.front());
  });
  const double import_s = BestSeconds(repeat, [&] {
    auto inv = importer.Scan(dir);
    if (inv.ok()) (void)importer.LoadSeries(inv->candidates.front());
  });
  Row("scancov header scan (all threads)", scan_s, n, mb);
  Row("scancov decode, 1 thread", decode1_s, n, mb);
  Row("scancov decode, all threads", decode_s, n, mb);
  Row("scancov scan+decode, 1 thread", import1_s, n, mb);
  Row("scancov scan+decode, all threads", import_s, n, mb);
  std::printf("scancov HU checksum: %lld\n", static_cast<long long>(checksum));

  if (!pydicom.empty()) {
    const std::string cmd = python + " " + pydicom + " " + dir + " --repeat " +
                            std::to_string(repeat) + (cold ? " --cold" : "");
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    std::string out;
    char buf[4096];
    while (pipe && std::fgets(buf, sizeof buf, pipe.get())) out += buf;
    try {
      const nlohmann::json j = nlohmann::json::parse(out);
      const double py_s = j.at("seconds").get<double>();
      Row("pydicom read+decode, 1 thread", py_s, j.at("slices").get<int>(), mb);
      std::printf("pydicom HU checksum: %lld (%s)\n", j.at("hu_sum").get<long long>(),
                  j.at("hu_sum").get<long long>() == checksum ? "same" : "DIFFERENT");
      std::printf("speed-up vs pydicom: %.1fx (1 thread), %.1fx (all threads)\n", py_s / import1_s,
                  py_s / import_s);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pydicom run failed (%s): %s\n", e.what(), out.c_str());
      return 1;
    }
  }
  return 0;
}
