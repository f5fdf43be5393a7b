// libFuzzer target for the DICOM read path of the importer: header parse (DCMTK), header
// extraction, classification and geometry checks, full parse and pixel decoding to HU (JPEG,
// JPEG-LS and RLE decoders included), on one arbitrary file.
//
// Built only with -DSCANCOV_FUZZ=ON and clang (see node/imaging/README.md):
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSCANCOV_FUZZ=ON -DSCANCOV_WITH_TORCH=OFF
//   cmake --build build-fuzz -j1 --target fuzz_dicom_import scancov-synth-ct
//   build-fuzz/sites/ct/scancov-synth-ct --out /tmp/fz --rows 48 --columns 48 \
//       --pixel-spacing 8 --slices 4 --encoding rle --localizer
//   mkdir -p /tmp/corpus && cp /tmp/fz/dicom/* /tmp/corpus/
//   build-fuzz/node/imaging/fuzz_dicom_import /tmp/corpus -max_total_time=30 -rss_limit_mb=4096
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "node/imaging/dicom_slice.h"
#include "node/imaging/series_check.h"
#include "node/imaging/series_grouping.h"

namespace {

// One scratch file per fuzzing process (tmpfs when available), removed at exit.
struct ScratchFile {
  ScratchFile() {
    const char* dir = std::getenv("TMPDIR");
    const std::string base =
        dir ? dir : (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp");
    path = base + "/scancov_fuzz_dicom_" + std::to_string(::getpid()) + ".dcm";
  }
  ~ScratchFile() { std::remove(path.c_str()); }
  std::string path;
};

const scancov::privacy::Pseudonymizer& FuzzPseudonymizer() {
  static const auto* p = new scancov::privacy::Pseudonymizer(
      scancov::privacy::Pseudonymizer::FromSecret(std::string(32, 'f')));
  return *p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scancov::node;  // NOLINT: a fuzz driver, not a header
  static const bool registered = (RegisterDicomDecoders(), true);
  (void)registered;
  // The importer reads files, and DCMTK's file parser bounds element lengths by the bytes left
  // in the file, so the input goes through a file, exactly as in DicomImporter.
  static const ScratchFile scratch;
  const std::string& path = scratch.path;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  absl::StatusOr<DicomFile> file = DicomFile::Load(path, /*header_only=*/true);
  if (!file.ok()) return 0;
  absl::StatusOr<SliceHeader> header = file->ReadHeader();
  if (!header.ok()) return 0;
  header->name = "input";
  header->path = path;
  std::vector<SliceHeader> slices;
  slices.push_back(*header);
  GroupOutcome outcome =
      ClassifyGroup("fuzz", std::move(slices), FuzzPseudonymizer(), SeriesCheckOptions{});
  if (!outcome.candidate) return 0;
  const SliceHeader& h = outcome.candidate->slices.front();
  // Keep each run cheap: a mutated header may claim 65535 x 65535 pixels, and zeroing a huge
  // buffer per input would dominate the fuzzer's time. 1024 x 1024 covers real CT.
  if (static_cast<size_t>(h.rows) * h.columns > (size_t{1} << 20)) return 0;
  absl::StatusOr<DicomFile> full = DicomFile::Load(path, /*header_only=*/false);
  if (!full.ok()) return 0;
  std::vector<int16_t> hu(static_cast<size_t>(h.rows) * h.columns);
  (void)full->DecodeHu(h, hu.data());
  return 0;
}
