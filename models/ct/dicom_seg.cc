#include "models/ct/dicom_seg.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmfg/fgderimg.h"
#include "dcmtk/dcmfg/fgfracon.h"
#include "dcmtk/dcmfg/fgpixmsr.h"
#include "dcmtk/dcmfg/fgplanor.h"
#include "dcmtk/dcmfg/fgplanpo.h"
#include "dcmtk/dcmfg/fgseg.h"
#include "dcmtk/dcmiod/iodreferences.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"
#include "dcmtk/dcmseg/segutils.h"

namespace scancov::ct {
namespace {

absl::Status Fail(absl::string_view where, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("dicom seg: ", where, ": ", why));
}

absl::Status CheckCond(const OFCondition& c, absl::string_view what) {
  if (c.good()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("dicom seg: ", what, ": ", c.text()));
}

std::string GetString(DcmDataset& ds, const DcmTagKey& tag, long pos = 0) {
  OFString v;
  if (ds.findAndGetOFString(tag, v, pos).bad()) return "";
  return std::string(v.c_str());
}

absl::StatusOr<double> GetDouble(DcmDataset& ds, const DcmTagKey& tag, long pos,
                                 const std::string& file) {
  Float64 v = 0;
  if (ds.findAndGetFloat64(tag, v, pos).bad()) {
    return Fail(absl::StrCat("file ", file), absl::StrCat(DcmTag(tag).getTagName(), " missing"));
  }
  return v;
}

std::string Ds(double v) { return absl::StrFormat("%.4f", v); }

// Reads the header of one source file into `slice` (and the shared fields on the first file).
absl::Status ReadOne(const std::string& file, bool first, SegSource& s) {
  DcmFileFormat ff;
  OFCondition c = ff.loadFile(file.c_str());
  if (c.bad()) return Fail(absl::StrCat("file ", file), c.text());
  DcmDataset& ds = *ff.getDataset();
  SegSourceSlice slice;
  slice.sop_class_uid = GetString(ds, DCM_SOPClassUID);
  slice.sop_instance_uid = GetString(ds, DCM_SOPInstanceUID);
  if (slice.sop_class_uid.empty() || slice.sop_instance_uid.empty()) {
    return Fail(absl::StrCat("file ", file), "SOP Class or Instance UID missing");
  }
  for (int a = 0; a < 3; ++a) {
    absl::StatusOr<double> v = GetDouble(ds, DCM_ImagePositionPatient, a, file);
    if (!v.ok()) return v.status();
    slice.position[a] = *v;
  }
  const std::string series = GetString(ds, DCM_SeriesInstanceUID);
  const std::string frame = GetString(ds, DCM_FrameOfReferenceUID);
  Uint16 rows = 0, cols = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, cols);
  if (first) {
    s.first_file = file;
    s.study_instance_uid = GetString(ds, DCM_StudyInstanceUID);
    s.series_instance_uid = series;
    s.frame_of_reference_uid = frame;
    s.rows = rows;
    s.columns = cols;
    for (int a = 0; a < 6; ++a) {
      absl::StatusOr<double> v = GetDouble(ds, DCM_ImageOrientationPatient, a, file);
      if (!v.ok()) return v.status();
      s.orientation[a] = *v;
    }
    for (int a = 0; a < 2; ++a) {
      absl::StatusOr<double> v = GetDouble(ds, DCM_PixelSpacing, a, file);
      if (!v.ok()) return v.status();
      s.pixel_spacing[a] = *v;
    }
    Float64 thickness = 0;
    ds.findAndGetFloat64(DCM_SliceThickness, thickness);
    s.slice_thickness = thickness;
    if (s.series_instance_uid.empty() || s.study_instance_uid.empty()) {
      return Fail(absl::StrCat("file ", file), "Study or Series Instance UID missing");
    }
  } else if (series != s.series_instance_uid || frame != s.frame_of_reference_uid ||
             rows != s.rows || cols != s.columns) {
    return Fail(absl::StrCat("file ", file),
                "series, frame of reference or image size differs from the first file");
  }
  s.slices.push_back(std::move(slice));
  return absl::OkStatus();
}

struct SegDeleter {
  void operator()(DcmSegmentation* s) const { delete s; }
};
using SegPtr = std::unique_ptr<DcmSegmentation, SegDeleter>;

// The shared and per-frame functional groups; the segments and frames are added by the caller.
absl::StatusOr<SegPtr> CreateSeg(const SegSource& src, const SegWriteOptions& o) {
  DcmSegmentation* raw = nullptr;
  IODGeneralEquipmentModule::EquipmentInfo eq("SCANCOV", "scancov-ct-analysis", "1",
                                              o.software_version.c_str());
  ContentIdentificationMacro ci("1", o.content_label.c_str(), o.series_description.c_str(),
                                "SCANCOV");
  OFCondition c = DcmSegmentation::createBinarySegmentation(
      raw, static_cast<Uint16>(src.rows), static_cast<Uint16>(src.columns), eq, ci);
  absl::Status s = CheckCond(c, "create segmentation");
  if (!s.ok()) return s;
  SegPtr seg(raw);
  s = CheckCond(seg->importFromSourceImage(src.first_file.c_str()), "import patient/study");
  if (!s.ok()) return s;
  seg->getSeries().setSeriesDescription(o.series_description.c_str());
  seg->getSeries().setSeriesNumber(o.series_number.c_str());
  if (!src.frame_of_reference_uid.empty()) {
    seg->getFrameOfReference().setFrameOfReferenceUID(src.frame_of_reference_uid.c_str());
  }
  FGPixelMeasures measures;
  measures.setPixelSpacing(
      absl::StrCat(Ds(src.pixel_spacing[0]), "\\", Ds(src.pixel_spacing[1])).c_str());
  if (src.slice_thickness > 0) measures.setSliceThickness(Ds(src.slice_thickness).c_str());
  s = CheckCond(seg->addForAllFrames(measures), "pixel measures");
  if (!s.ok()) return s;
  std::unique_ptr<FGPlaneOrientationPatient> orient(FGPlaneOrientationPatient::createMinimal(
      Ds(src.orientation[0]).c_str(), Ds(src.orientation[1]).c_str(),
      Ds(src.orientation[2]).c_str(), Ds(src.orientation[3]).c_str(),
      Ds(src.orientation[4]).c_str(), Ds(src.orientation[5]).c_str()));
  if (!orient) return absl::InternalError("dicom seg: plane orientation");
  s = CheckCond(seg->addForAllFrames(*orient), "plane orientation");
  if (!s.ok()) return s;
  char uid[100];
  dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
  IODMultiframeDimensionModule& dims = seg->getDimensions();
  s = CheckCond(
      dims.addDimensionIndex(DCM_ReferencedSegmentNumber, uid, DCM_SegmentIdentificationSequence,
                             "ReferencedSegmentNumber"),
      "dimension segment");
  if (!s.ok()) return s;
  s = CheckCond(dims.addDimensionIndex(DCM_ImagePositionPatient, uid, DCM_PlanePositionSequence,
                                       "ImagePositionPatient"),
                "dimension position");
  if (!s.ok()) return s;
  IODReferences refs;
  for (const SegSourceSlice& sl : src.slices) {
    refs.add(new IODImageReference("", src.study_instance_uid.c_str(),
                                   src.series_instance_uid.c_str(), sl.sop_instance_uid.c_str(),
                                   sl.sop_class_uid.c_str()));
  }
  seg->getCommonInstanceReference().addReferences(refs, src.study_instance_uid.c_str());
  return seg;
}

// Adds one segment and its non-empty frames; `in(v)` tells whether voxel v belongs to it.
template <typename Pred>
absl::Status AddSegment(DcmSegmentation& seg, const SegSource& src, const SegSegment& spec,
                        const SegWriteOptions& o, int nx, int ny, Pred in) {
  DcmSegment* segment = nullptr;
  CodeSequenceMacro category(spec.category[0].c_str(), spec.category[1].c_str(),
                             spec.category[2].c_str());
  CodeSequenceMacro type(spec.type[0].c_str(), spec.type[1].c_str(), spec.type[2].c_str());
  absl::Status s =
      CheckCond(DcmSegment::create(segment, spec.label.c_str(), category, type,
                                   DcmSegTypes::SAT_AUTOMATIC, o.algorithm_name.c_str()),
                absl::StrCat("segment ", spec.label));
  if (!s.ok()) return s;
  Uint16 number = 0;
  s = CheckCond(seg.addSegment(segment, number), absl::StrCat("add segment ", spec.label));
  if (!s.ok()) {
    delete segment;
    return s;
  }
  const size_t plane = static_cast<size_t>(nx) * ny;
  std::vector<Uint8> frame(plane);
  for (size_t k = 0; k < src.slices.size(); ++k) {
    bool any = false;
    for (size_t p = 0; p < plane; ++p) {
      frame[p] = in(k * plane + p) ? 1 : 0;
      any |= frame[p] != 0;
    }
    if (!any) continue;
    const SegSourceSlice& sl = src.slices[k];
    FGFrameContent content;
    content.setDimensionIndexValues(number, 0);
    content.setDimensionIndexValues(static_cast<Uint32>(k + 1), 1);
    std::unique_ptr<FGPlanePosPatient> pos(FGPlanePosPatient::createMinimal(
        Ds(sl.position[0]).c_str(), Ds(sl.position[1]).c_str(), Ds(sl.position[2]).c_str()));
    ImageSOPInstanceReferenceMacro ref;
    ref.setReferencedSOPClassUID(sl.sop_class_uid.c_str());
    ref.setReferencedSOPInstanceUID(sl.sop_instance_uid.c_str());
    OFVector<ImageSOPInstanceReferenceMacro> refs(1, ref);
    std::unique_ptr<FGDerivationImage> derivation(FGDerivationImage::createMinimal(
        refs, "Model-free lung mask and lesion map",
        CodeSequenceMacro("113076", "DCM", "Segmentation"),
        CodeSequenceMacro("121322", "DCM", "Source image for image processing operation")));
    if (!pos || !derivation) return absl::InternalError("dicom seg: per-frame groups");
    OFVector<FGBase*> groups;
    groups.push_back(&content);
    groups.push_back(pos.get());
    groups.push_back(derivation.get());
    s = CheckCond(seg.addFrame(frame.data(), number, groups),
                  absl::StrCat("frame ", k, " of ", spec.label));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SegSource> ReadSegSource(const std::vector<std::string>& files) {
  if (files.empty()) return Fail("source", "no file given");
  SegSource s;
  for (size_t f = 0; f < files.size(); ++f) {
    absl::Status st = ReadOne(files[f], f == 0, s);
    if (!st.ok()) return st;
  }
  return s;
}

std::vector<SegSegment> SegSegments() {
  const std::array<std::string, 3> anatomy{"123037004", "SCT", "Anatomical Structure"};
  const std::array<std::string, 3> abnormal{"49755003", "SCT",
                                            "Morphologically Abnormal Structure"};
  return {
      {1, 0, "Right lung", anatomy, {"3341006", "SCT", "Right lung"}},
      {2, 0, "Left lung", anatomy, {"44029006", "SCT", "Left lung"}},
      {0, 2, "Ground-glass opacity", abnormal, {"112120", "DCM", "Ground glass opacity"}},
      {0, 3, "Crazy paving", abnormal, {"CRAZYPAVING", "99SCANCOV", "Crazy paving pattern"}},
      {0, 4, "Consolidation", abnormal, {"95436008", "SCT", "Lung consolidation"}},
  };
}

absl::Status WriteDicomSeg(const std::string& path, const SegSource& source,
                           const LabelVolume& lungs, const LabelVolume& lesions,
                           const SegWriteOptions& options) {
  if (!lungs.SameGrid(lesions) || lungs.nx != source.columns || lungs.ny != source.rows ||
      lungs.nz != static_cast<int>(source.slices.size()) || lungs.voxels.size() != lungs.size() ||
      lesions.voxels.size() != lesions.size()) {
    return Fail(path, "label maps do not match the source series' size");
  }
  absl::StatusOr<SegPtr> seg = CreateSeg(source, options);
  if (!seg.ok()) return seg.status();
  int segments = 0;
  for (const SegSegment& spec : SegSegments()) {
    auto in = [&](size_t v) {
      return spec.lung_value ? lungs.voxels[v] == spec.lung_value
                             : lesions.voxels[v] == spec.lesion_value && lungs.voxels[v] != 0;
    };
    bool any = false;
    for (size_t v = 0; v < lungs.voxels.size() && !any; ++v) any = in(v);
    if (!any) continue;
    absl::Status s = AddSegment(**seg, source, spec, options, lungs.nx, lungs.ny, in);
    if (!s.ok()) return s;
    ++segments;
  }
  if (segments == 0) return Fail(path, "nothing to write: every segment is empty");
  const std::string tmp = path + ".tmp";
  absl::Status s = CheckCond((*seg)->saveFile(tmp.c_str(), EXS_LittleEndianExplicit),
                             absl::StrCat("save ", path));
  if (!s.ok()) {
    std::remove(tmp.c_str());
    return s;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Fail(path, ec.message());
  return absl::OkStatus();
}

absl::StatusOr<LoadedSeg> ReadDicomSeg(const std::string& path, const SegSource& source) {
  DcmSegmentation* raw = nullptr;
  absl::Status s =
      CheckCond(DcmSegmentation::loadFile(path.c_str(), raw), absl::StrCat("load ", path));
  if (!s.ok()) return s;
  SegPtr seg(raw);
  LoadedSeg out;
  OFString value;
  if (seg->getFrameOfReference().getFrameOfReferenceUID(value).good()) {
    out.frame_of_reference_uid = value.c_str();
  }
  if (seg->getStudy().getStudyInstanceUID(value).good()) out.study_instance_uid = value.c_str();
  auto& series_refs = seg->getCommonInstanceReference().getReferencedSeriesItems();
  if (!series_refs.empty() && series_refs[0]->getSeriesInstanceUID(value).good()) {
    out.referenced_series_uid = value.c_str();
  }
  const int nx = source.columns, ny = source.rows, nz = static_cast<int>(source.slices.size());
  const std::array<double, 3> spacing{source.pixel_spacing[1], source.pixel_spacing[0],
                                      source.slice_thickness > 0 ? source.slice_thickness : 1.0};
  const size_t n_segments = seg->getNumberOfSegments();
  for (size_t i = 1; i <= n_segments; ++i) {
    DcmSegment* segment = seg->getSegment(i);
    LoadedSegment ls;
    if (segment && segment->getSegmentLabel(value).good()) ls.label = value.c_str();
    if (segment && segment->getSegmentedPropertyTypeCode().getCodeValue(value).good()) {
      ls.type_code = value.c_str();
    }
    ls.mask = LabelVolume(nx, ny, nz, spacing);
    out.segments.push_back(std::move(ls));
  }
  out.frames = static_cast<int>(seg->getNumberOfFrames());
  FGInterface& fg = seg->getFunctionalGroups();
  const size_t plane = static_cast<size_t>(nx) * ny;
  for (int f = 0; f < out.frames; ++f) {
    auto* segfg = OFstatic_cast(FGSegmentation*, fg.get(f, DcmFGTypes::EFG_SEGMENTATION));
    auto* pos = OFstatic_cast(FGPlanePosPatient*, fg.get(f, DcmFGTypes::EFG_PLANEPOSPATIENT));
    Uint16 number = 0;
    Float64 x = 0, y = 0, z = 0;
    if (!segfg || segfg->getReferencedSegmentNumber(number).bad() || number < 1 ||
        number > n_segments || !pos || pos->getImagePositionPatient(x, y, z).bad()) {
      return Fail(absl::StrCat(path, " frame ", f + 1), "segment number or position missing");
    }
    int slice = -1;
    for (int k = 0; k < nz && slice < 0; ++k) {
      const auto& p = source.slices[k].position;
      const double d = std::hypot(p[0] - x, p[1] - y, p[2] - z);
      if (d <= 0.5 * spacing[2] + 1e-3) slice = k;
    }
    if (slice < 0) return Fail(absl::StrCat(path, " frame ", f + 1), "matches no source slice");
    const DcmIODTypes::Frame* frame = seg->getFrame(f);
    std::unique_ptr<DcmIODTypes::Frame> unpacked;
    if (frame && frame->length != plane) {  // bit-packed in memory: unpack
      unpacked.reset(
          DcmSegUtils::unpackBinaryFrame(frame, static_cast<Uint16>(ny), static_cast<Uint16>(nx)));
      frame = unpacked.get();
    }
    if (!frame || frame->length < plane) {
      return Fail(absl::StrCat(path, " frame ", f + 1), "pixel data size does not match");
    }
    uint8_t* dst = out.segments[number - 1].mask.voxels.data() + slice * plane;
    for (size_t p = 0; p < plane; ++p) dst[p] = frame->pixData[p] ? 1 : 0;
  }
  return out;
}

}  // namespace scancov::ct
