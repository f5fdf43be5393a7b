// scancov-synth-ct: writes one synthetic chest CT exam (DICOM + ground truth) to a folder.
//
//   scancov-synth-ct --out /tmp/ct1 --scale small --seed 7 --extent-right 0.3 --extent-left 0.2
//   scancov-synth-ct --out /tmp/ct_full --scale full --crazy-paving 0.3 --encoding jpeg-ls
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <map>

#include "core/cli.h"
#include "core/logging.h"
#include "sites/ct/phantom_writer.h"

int main(int argc, char** argv) {
  using scancov::sites::DicomEncoding;
  scancov::sites::PhantomSpec spec;
  std::string out;
  std::string scale = "small";
  std::string encoding = "explicit";
  std::string log_level = "info";
  std::string sex = "M";
  // Scanner overrides; negative / empty means "keep the scale's value".
  int rows = -1, columns = -1, slices = -1;
  double pixel_spacing = -1, thickness = -1, spacing = -1, noise = -1;
  double slope = -1, intercept = 1e9;
  std::string manufacturer;
  bool localizer = false, second_series = false;

  CLI::App app{"Write one synthetic chest CT phantom as DICOM plus NIfTI ground truth"};
  scancov::AddVersionAndExitCodes(app, "scancov-synth-ct");
  app.add_option("--out", out, "output folder (dicom/, lungs.nii.gz, lesions.nii.gz, truth.json)")
      ->required();
  app.add_option("--scale", scale, "small (128x128x40) or full (512x512x400)")
      ->check(CLI::IsMember({"small", "full"}));
  app.add_option("--seed", spec.seed, "random seed (same seed, same bytes)");
  app.add_option("--patient-id", spec.patient.patient_id, "fake PatientID, e.g. KB-000123");
  app.add_option("--sex", sex, "M or F")->check(CLI::IsMember({"M", "F"}));
  app.add_option("--age", spec.patient.age_years, "age in years");
  app.add_option("--body-scale", spec.patient.body_scale, "in-plane body size factor");
  app.add_option("--extent-right", spec.disease.extent_right, "lesion fraction of right lung");
  app.add_option("--extent-left", spec.disease.extent_left, "lesion fraction of left lung");
  app.add_option("--ggo", spec.disease.ggo_fraction, "GGO share of lesions");
  app.add_option("--crazy-paving", spec.disease.crazy_paving_fraction, "crazy-paving share");
  app.add_option("--consolidation", spec.disease.consolidation_fraction, "consolidation share");
  app.add_flag("--peripheral,!--no-peripheral", spec.disease.peripheral,
               "peripheral (subpleural) lesions (default on)");
  app.add_flag("--inferior,!--no-inferior", spec.disease.inferior,
               "inferior predominance (default on)");
  app.add_option("--calcium-coronary", spec.calcium.coronary_mm3, "mm3");
  app.add_option("--calcium-valve", spec.calcium.aortic_valve_mm3, "mm3");
  app.add_option("--calcium-aorta", spec.calcium.aorta_mm3, "mm3");
  app.add_flag("--ett", spec.devices.endotracheal_tube, "add an endotracheal tube");
  app.add_flag("--catheter", spec.devices.central_catheter, "add a central venous catheter");
  app.add_option("--rows", rows, "image rows");
  app.add_option("--columns", columns, "image columns");
  app.add_option("--slices", slices, "number of axial slices");
  app.add_option("--pixel-spacing", pixel_spacing, "mm");
  app.add_option("--slice-thickness", thickness, "mm");
  app.add_option("--slice-spacing", spacing, "mm between slice centres");
  app.add_option("--noise", noise, "noise sigma, HU");
  app.add_option("--manufacturer", manufacturer, "Manufacturer attribute");
  app.add_option("--rescale-slope", slope, "RescaleSlope");
  app.add_option("--rescale-intercept", intercept, "RescaleIntercept");
  app.add_option("--encoding", encoding, "explicit, implicit, rle, jpeg-lossless, jpeg-ls")
      ->check(CLI::IsMember({"explicit", "implicit", "rle", "jpeg-lossless", "jpeg-ls"}));
  app.add_flag("--localizer", localizer, "also write a localizer (scout) image");
  app.add_flag("--second-series", second_series, "also write a 2x thick second series");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;

  if (absl::Status s = scancov::SetupLogging("synth-ct", log_level); !s.ok()) {
    fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 2;
  }
  const std::map<std::string, DicomEncoding> encodings = {
      {"explicit", DicomEncoding::kExplicitLittle},
      {"implicit", DicomEncoding::kImplicitLittle},
      {"rle", DicomEncoding::kRle},
      {"jpeg-lossless", DicomEncoding::kJpegLossless},
      {"jpeg-ls", DicomEncoding::kJpegLsLossless}};
  spec.patient.sex = sex[0];
  auto& sc = spec.scanner;
  sc = scale == "full" ? scancov::sites::FullScanner() : scancov::sites::SmallScanner();
  if (rows > 0) sc.rows = rows;
  if (columns > 0) sc.columns = columns;
  if (slices > 0) sc.number_of_slices = slices;
  if (pixel_spacing > 0) sc.pixel_spacing_mm = pixel_spacing;
  if (thickness > 0) sc.slice_thickness_mm = thickness;
  if (spacing > 0) sc.slice_spacing_mm = spacing;
  if (noise >= 0) sc.noise_sigma_hu = noise;
  if (!manufacturer.empty()) sc.manufacturer = manufacturer;
  if (slope > 0) sc.rescale_slope = slope;
  if (intercept < 1e8) sc.rescale_intercept = intercept;
  sc.encoding = encodings.at(encoding);
  sc.add_localizer = localizer;
  sc.add_second_series = second_series;

  const auto start = std::chrono::steady_clock::now();
  auto files = scancov::sites::WritePhantomSeries(spec, out);
  if (!files.ok()) {
    spdlog::error("{}", std::string(files.status().message()));
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("wrote {} DICOM files ({}x{}x{}) to {} in {:.2f} s; extent right {:.3f} left {:.3f}",
               files->dicom.files.size(), files->grid.nx, files->grid.ny, files->grid.nz,
               files->dicom_dir, seconds, files->truth.right.extent(), files->truth.left.extent());
  spdlog::info("ground truth: {}", files->truth_json_path);
  return 0;
}
