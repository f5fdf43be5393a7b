// Test helpers for the DICOM import tests: small phantoms on disk and DCMTK edits of files.
#ifndef SCANCOV_NODE_IMAGING_TEST_UTIL_H_
#define SCANCOV_NODE_IMAGING_TEST_UTIL_H_

#include <functional>
#include <string>
#include <vector>

#include "node/imaging/dicom_importer.h"
#include "sites/ct/phantom_writer.h"

class DcmDataset;

namespace scancov::node::testing {

// A fresh, empty folder under the test temp dir.
std::string FreshDir(const std::string& name);

// A small phantom spec (96 x 96 pixels of 4 mm, 12 slices of 5 mm) with some disease.
sites::PhantomSpec SmallSpec(uint64_t seed, const std::string& patient_id = "KB-000001");

// Writes the phantom of `spec` to out_dir (dicom/ inside it) or fails the test.
sites::PhantomFiles WritePhantom(const sites::PhantomSpec& spec, const std::string& out_dir);

// The files of `files` sorted by ImagePositionPatient z (primary axial series only).
std::vector<std::string> FilesByPosition(const sites::PhantomFiles& files);

// Loads a DICOM file, applies `edit` to its dataset and saves it in place (same syntax).
void EditDicom(const std::string& path, const std::function<void(DcmDataset&)>& edit);

// Cuts a file to `keep` bytes.
void TruncateFile(const std::string& path, size_t keep);

struct ImportResult {
  ImportReport report;
  std::vector<CtSeries> series;
};
// Runs a full import of root with a fixed test secret (optionally through a cache).
ImportResult RunImport(const std::string& root, const VolumeCache* cache = nullptr,
                       ImportOptions options = {});

// The pseudonymizer RunImport uses.
const privacy::Pseudonymizer& TestPseudonymizer();

// The report entry whose reason or notes mention `needle`, or nullptr.
const SeriesReport* FindSeries(const ImportReport& report, const std::string& needle);

}  // namespace scancov::node::testing

#endif  // SCANCOV_NODE_IMAGING_TEST_UTIL_H_
