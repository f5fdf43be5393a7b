// Test helpers for JPEG 2000: codestreams made at test time with OpenJPEG's encoder, and DICOM
// files carrying them as encapsulated pixel data (DCMTK), so no compressed sample is kept in
// git. Failures are test failures (gtest assertions), not Status.
#ifndef SCANCOV_NODE_IMAGING_JPEG2000_TEST_UTIL_H_
#define SCANCOV_NODE_IMAGING_JPEG2000_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

class DcmDataset;

namespace scancov::node::testing {

using Bytes = std::vector<uint8_t>;

struct J2kEncoding {
  // Reversible 5/3 wavelet, one layer, no rate limit (lossless); else the irreversible 9/7
  // wavelet at `ratio`:1 (one quality layer).
  bool lossless = true;
  double ratio = 10;
  bool jp2 = false;  // wrap the codestream in a JP2 file (signature, header and jp2c boxes)
};

// Encodes `components` planes of width x height samples (plane after plane in `samples`),
// each of `precision` bits, signed or not. Fails the test on an encoder error.
Bytes EncodeJ2k(const std::vector<int32_t>& samples, int width, int height, int components,
                int precision, bool is_signed, const J2kEncoding& encoding = {});

// Replaces the dataset's pixel data by an encapsulated pixel sequence: an empty or filled
// Basic Offset Table (`table` when given, else the frames' true offsets), then each frame's
// fragments (odd lengths padded with a zero byte). `xfer_uid` is the transfer syntax the
// caller saves the file with.
void PutEncapsulated(DcmDataset& dataset, const std::string& xfer_uid,
                     const std::vector<std::vector<Bytes>>& frames, bool offset_table,
                     const std::vector<uint32_t>& table = {});

// `bytes` cut into `pieces` fragments of about equal, even length.
std::vector<Bytes> Split(const Bytes& bytes, int pieces);

struct J2kFile {
  J2kEncoding encoding;
  int fragments = 1;          // of the one frame
  bool offset_table = false;  // a one-entry Basic Offset Table
  // The UID written to the meta header; empty: .4.90 when lossless, .4.91 when not. Any other
  // UID is written as is, with the dataset encoded as for .4.90 (explicit VR little endian).
  std::string transfer_syntax;
};

// Rewrites a native (uncompressed) single-frame DICOM file as JPEG 2000: 1.2.840.10008.1.2.4.90
// when lossless, .4.91 when not (or options.transfer_syntax). Precision and signedness come from
// BitsStored and PixelRepresentation. Returns the codestream written.
Bytes ConvertToJpeg2000(const std::string& path, const J2kFile& options = {});

// Replaces the pixel data of a JPEG 2000 file by `frames` (same transfer syntax), in place.
void RewriteFragments(const std::string& path, const std::vector<std::vector<Bytes>>& frames,
                      bool offset_table = false, const std::vector<uint32_t>& table = {});

// The stored samples of a native single-frame file as the encoder takes them (sign-extended
// from BitsStored when PixelRepresentation is 1).
std::vector<int32_t> NativeSamples(const std::string& path, int* width, int* height, int* precision,
                                   bool* is_signed);

}  // namespace scancov::node::testing

#endif  // SCANCOV_NODE_IMAGING_JPEG2000_TEST_UTIL_H_
