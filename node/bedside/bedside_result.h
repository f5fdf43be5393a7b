// What bedside scoring takes and gives back (score_patient.h runs it).
//
// Privacy: a BedsideResult names the patient, study and series only by pseudonymous keys
// (privacy::Pseudonymizer, as the node's import). It holds no PatientName, PatientID, birth
// date or UID; `source_files` and the volumes stay in memory (for the DICOM SEG and the
// overlays) and are never printed or written to the JSON or the HTML report.
#ifndef SCANCOV_NODE_BEDSIDE_BEDSIDE_RESULT_H_
#define SCANCOV_NODE_BEDSIDE_BEDSIDE_RESULT_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/volume.h"
#include "models/ct/hu_intervals.h"
#include "models/ct/hu_lesions.h"
#include "models/ct/lesion_quantification.h"
#include "models/scores/ai_score.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/points_score.h"
#include "models/scores/scancov_score.h"

namespace scancov::node {

struct BedsideOptions {
  // The site's pseudonymisation secret (sites/config "secret"). Must exist: a new secret would
  // give IDs that match nothing the node imported.
  std::string secret_path;
  // Learned models (models/nn checkpoint files). Empty: the model-free lung mask and the
  // HU-interval lesion map (models/ct/hu_lesions.h).
  std::string lung_checkpoint;                  // unet2d: 0 background, 1 right, 2 left
  std::vector<std::string> lesion_checkpoints;  // unet25d / unet3d, probabilities averaged
  // Slice size the learned models were trained at (the segmentation study's "in_plane"): the
  // CT is fitted to it (models/ct FitInPlaneHu) and the labels mapped back. 0: native grid;
  // -1: the size recorded in the checkpoint files (coordinator's export-checkpoint writes it).
  int model_in_plane = -1;
  std::string device = "auto";  // auto | cpu | cuda, for the learned models
  // auto | fp32 | bf16, for the learned models (auto: bfloat16 where the device computes it
  // natively; models/nn/precision.h). The report's method line says which ran.
  std::string precision = "auto";
  // AI-SCoRE model file (aiscore_model.h). Empty: "AI-SCoRE: not available (no fitted model)".
  std::string aiscore_model_path;
  int threads = 0;  // 0 = hardware concurrency
  // A series is a chest CT only if its lung mask has two lungs and at least this volume.
  double min_lung_volume_ml = 1000.0;
  ct::HuLesionOptions hu_lesions;
  int overlay_slices = 3;  // most affected slice of the upper, middle and lower lung thirds
};

struct BedsideRequest {
  std::string dicom_dir;
  // Clinical values by PatientInputs name in canonical units: age, sex (1 M / 0 F), spo2,
  // platelets, urea required for ScanCov; ldh, crp, lymphocytes, respiratory_rate, systolic_bp,
  // diastolic_bp, confusion, comorbidity... optional (CURB-65, CALL). CT inputs are filled in.
  scores::PatientInputs clinical;
  BedsideOptions options;
};

// A score that may not be computable: `reason` says why when it is not.
struct ScanCovOutcome {
  bool available = false;
  std::string reason;
  scores::ScanCovResult value;
};

struct AiScoreOutcome {
  bool available = false;
  std::string reason;
  scores::AiScoreResult value;
  scores::AiScoreCutPoints cut_points;
  std::string model_source;
};

struct PointsOutcome {
  bool available = false;
  std::string reason;
  scores::PointsScore value;
  std::string group;  // CURB-65 low/intermediate/high, CALL A/B/C
};

struct OverlayImage {
  int slice = 0;  // index along the sorted series (0 = the feet end)
  int64_t lesion_voxels = 0;
  std::string zone;  // "upper", "middle", "lower"
  std::string png;   // PNG bytes
};

struct BedsideResult {
  std::string patient_key;  // the pseudonymous ID
  std::string study_key;
  std::string series_key;
  int nx = 0, ny = 0, nz = 0;
  std::array<double, 3> spacing{};
  std::vector<std::string> notes;           // import notes and choices made
  std::vector<std::string> input_problems;  // every implausible / unknown clinical input
  std::string lung_method;                  // "model-free" or "learned (checkpoint)"
  std::string lesion_method;                // "HU intervals" or "learned (n models)"

  ct::LesionQuantification lesions;  // per lung %, extent, ExtentScore
  ct::HuIntervalQuantification hu_intervals;
  bool calcium_available = false;
  double calcium_volume_mm3 = 0.0;
  int disease_extent = 0;  // ExtentScore of both lungs: ScanCov's extent input

  scores::PatientInputs inputs;  // clinical values plus the CT-derived ones, as scored
  ScanCovOutcome scancov;
  AiScoreOutcome aiscore;
  PointsOutcome curb65;
  PointsOutcome call;

  std::vector<std::pair<std::string, double>> timings;  // stage, seconds
  std::vector<OverlayImage> overlays;
  std::string chart_png;

  // Kept for the DICOM SEG (never printed): label maps on the series grid and its files in
  // slice order.
  LabelVolume lungs;
  LabelVolume lesion_labels;
  std::vector<std::string> source_files;

  // ScanCov was computed: the result is complete enough to act on.
  bool complete() const { return scancov.available; }
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_BEDSIDE_RESULT_H_
