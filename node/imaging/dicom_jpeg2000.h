// JPEG 2000 pixel data of a DICOM dataset: one frame's codestream gathered from the
// encapsulated fragments, decoded with OpenJPEG (jpeg2000_codec.h) and checked against the
// image pixel module. Part of dicom_slice.cc's DCMTK boundary: only DicomFile calls it, which
// is why a DCMTK type appears in the signature.
//
// Debian 12's DCMTK 3.6.7 has no JPEG 2000 decoder (that is a commercial DCMTK module), so
// these transfer syntaxes are decoded here rather than by DcmDataset::chooseRepresentation.
// Multi-frame objects are decoded frame by frame (the importer itself takes single frames).
#ifndef SCANCOV_NODE_IMAGING_DICOM_JPEG2000_H_
#define SCANCOV_NODE_IMAGING_DICOM_JPEG2000_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/imaging/dicom_slice.h"

class DcmDataset;  // DCMTK
class DcmPixelSequence;

namespace scancov::node {

// JPEG 2000 Image Compression (Lossless Only) .4.90, JPEG 2000 Image Compression .4.91, and
// High-Throughput JPEG 2000 .4.201 (lossless), .4.202 (lossless, RPCL) and .4.203, which
// OpenJPEG decodes since 2.5.0. DCMTK 3.6.7 does not know the HTJ2K UIDs: it reads such a
// dataset as explicit VR little endian, which is what they are, pixel sequence included.
bool IsJpeg2000TransferSyntax(const std::string& uid);

// The bytes of frame `frame` (0-based) of `frames`, concatenated from its fragments. Which
// fragments make a frame: all of them when there is one frame; else the Basic Offset Table;
// without one, one fragment per frame when the counts agree, else the fragments that start a
// JPEG 2000 codestream (SOC marker or JP2 signature) start a frame. DataLoss when none of
// these tells the frames apart or the table points between fragments.
absl::StatusOr<std::vector<uint8_t>> EncapsulatedFrame(DcmPixelSequence& sequence, int frame,
                                                       int frames);

// Decodes frame `frame` of the dataset's JPEG 2000 pixel data into stored[rows * columns]:
// the 16-bit pattern the native encoding would hold (two's complement below BitsStored when
// PixelRepresentation is 1), so that the HU conversion is the one every syntax uses. Refuses
// (FailedPrecondition) a codestream whose size, component count, precision or signedness
// differs from the header; DataLoss for a damaged codestream, with OpenJPEG's reason.
// Messages name the frame and the mismatch; the caller prefixes the file.
absl::Status DecodeJpeg2000Frame(DcmDataset& dataset, const SliceHeader& header, int frame,
                                 uint16_t* stored);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_DICOM_JPEG2000_H_
