// The seed's multivariable pipeline (multivariable_pipeline.h) run federated: the coordinator's
// side. Sites hold their rows (selection_site.h); each round every site answers the driver's
// request() with aggregates, the coordinator pools them (PoolMoments, PoolModelResults) and
// feeds the sum back here. The steps and rules are the pooled pipeline's:
//
//  Round 0, sums: per part (training part of each of the F folds, cut inside each site, then
//    part F = all rows) the rows, and per variable the observed count and sum. Pooled means.
//  Round 1, squares: per part and variable the squared deviations from the pooled mean, so the
//    standardisation of every part is FitStandardization's on the union of the sites' rows
//    (two passes). Sparse rule (fewer than min_observed observed in all rows) and constant rule
//    (SD of all rows <= 1e-12 (1 + |mean|); the pooled pipeline tests exact equality) here.
//  Then batches of penalised logistic fits by exact federated Newton steps
//    (stats::LogisticNewtonCoordinator, one per model, tolerance 1e-8 as FitPenalized): every
//    round evaluates ALL unconverged models of the batch at once, so a batch costs as many
//    rounds as its slowest model's Newton evaluations (about 5-8, plus any step halvings).
//    - initial batch (only with initial_variables): each prefix of the initial variables x
//      penalty x fold;
//    - one batch per greedy step: (selected + each remaining candidate) x penalty x fold;
//    - final batch: the selected variables with the last step's penalty on part F (all rows).
//
// Federated CV AUC (no patient-level value leaves a site): for a model fitted on fold f's
// training part, each site returns the AUC of the model on its own held-out fold f and that
// fold's positives x negatives count. The fold's criterion is the pair-weighted mean over
// sites, sum_s (pairs_s / sum_t pairs_t) * auc_s (computed in that order, so with one site it
// is that site's AUC bit for bit); a model's mean CV AUC is the plain mean of the fold
// criteria over the F folds, exactly as CrossValidation::MeanAuc. With one site holding the
// whole table, the federated selection is FitMultivariableModel's: same folds, same
// standardisations, same fits, same AUCs, same ties broken the same way. With several sites it
// differs from a pooled AUC only by ignoring cross-site pairs (a patient of one site is never
// ranked against a patient of another).
//
// Differences from FitMultivariableModel beyond the AUC's cross-site pairs: standardisation is
// learnt for the usable columns only (the pooled pipeline also fails on a dropped column with no
// observed value in a training part), and a site treats a column with small observed counts in
// a fold as missing (selection_site.h); neither happens on tables like the tests'.
//
// Rounds: 2 + (initial batch) + (one batch per greedy step, the refused step included) + 1
// batch, each batch about 6-9 rounds with the default tolerance.
//
// Deterministic: the same pooled inputs give the same requests, so a coordinator restarted from
// its stored pooled inputs (replaying Add* in order) continues exactly where it was.
//
// Thread safety: none; one driver per study, used from one thread.
#ifndef SCANCOV_MODELS_SCORES_SELECTION_DRIVER_H_
#define SCANCOV_MODELS_SCORES_SELECTION_DRIVER_H_

#include <optional>
#include <string>
#include <vector>

#include "Eigen/Dense"
#include "absl/status/statusor.h"
#include "models/scores/multivariable_pipeline.h"
#include "models/scores/penalized_cv.h"
#include "models/scores/selection_site.h"
#include "models/stats/logistic_newton.h"

namespace scancov::scores {

// The Newton fits' tolerance (FitPenalized's; stats::LogisticOptions::tolerance).
inline constexpr double kSelectionFitTolerance = 1e-8;

// What every site is asked in one round.
struct SelectionRequest {
  enum class Kind { kSums, kSquares, kFits };
  Kind kind = Kind::kSums;
  // kSquares: the pooled means (scales unused); kFits: each part's standardisation. One per
  // part, table width (the study's variables).
  std::vector<Standardization> parts;
  std::vector<ModelRequest> models;  // kFits
};

// The selected model, as MultivariableModel describes it.
struct FederatedSelection {
  std::vector<std::string> variables;
  Standardization standardization;  // raw-unit imputation means and scales of `variables`
  double intercept = 0.0;
  Eigen::VectorXd coefficients;  // on the standardised variables
  double penalty = 1.0;
  double cv_auc = 0.5;
  std::vector<SelectionStep> path;
  std::optional<SelectionStep> rejected;
  std::vector<std::string> dropped_sparse;
  std::vector<std::string> dropped_constant;
  int64_t num_observations = 0;
  int64_t num_events = 0;
};

// Sums of the sites' answers (all sites must answer the same request). InvalidArgument for
// answers of different shapes or models evaluated at different coefficients.
absl::StatusOr<std::vector<PartMoments>> PoolMoments(
    const std::vector<std::vector<PartMoments>>& sites);
absl::StatusOr<std::vector<ModelSiteResult>> PoolModelResults(
    const std::vector<std::vector<ModelSiteResult>>& sites);

class SelectionDriver {
 public:
  // `variables`: the table's columns at every site, in order. Options as for
  // FitMultivariableModel. InvalidArgument for bad options or duplicate variables.
  static absl::StatusOr<SelectionDriver> Create(std::vector<std::string> variables,
                                                PipelineOptions options);

  bool done() const { return stage_ == Stage::kDone; }
  // The next round's request (meaningless once done()).
  const SelectionRequest& request() const { return request_; }
  // "sums", "squares", "initial", "step <k>", "final" or "done".
  std::string stage() const;

  // Feed the pooled answers to request(), in order. Errors end the selection: InvalidArgument
  // for answers of the wrong shape; FailedPrecondition (no usable variable), InvalidArgument (an
  // initial variable unknown or dropped, a variable with no observed value in a training part)
  // as FitMultivariableModel; fit errors from the Newton coordinator.
  absl::Status AddSums(const std::vector<PartMoments>& pooled);
  absl::Status AddSquares(const std::vector<PartMoments>& pooled);
  absl::Status AddFits(const std::vector<ModelSiteResult>& pooled);

  // FailedPrecondition until done().
  absl::StatusOr<FederatedSelection> Result() const;

 private:
  enum class Stage { kSums, kSquares, kInitial, kGreedy, kFinal, kDone };
  struct Model {
    int trial = 0;
    int penalty = 0;  // index into the grid
    int part = 0;
    stats::LogisticNewtonCoordinator newton;
    double auc = 0.5;  // the fold criterion at convergence
    bool converged = false;
  };

  SelectionDriver(std::vector<std::string> variables, PipelineOptions options);
  int num_parts() const { return options_.num_folds + 1; }
  absl::Status CheckMoments(const std::vector<PartMoments>& pooled) const;
  absl::Status ChooseColumns();
  absl::Status StartBatch(Stage stage, std::vector<std::vector<int>> trials);
  absl::Status StartGreedyStep();
  absl::Status FinishBatch();
  // The best penalty of trial t, as CrossValidation::BestPenalty.
  SelectionStep BestPenalty(int trial) const;
  std::string Describe(const std::vector<int>& trial) const;
  void UpdateRequest();

  std::vector<std::string> variables_;
  PipelineOptions options_;
  Stage stage_ = Stage::kSums;
  SelectionRequest request_;
  std::vector<PartMoments> sums_;
  std::vector<Standardization> parts_;
  std::vector<int> candidates_;  // usable, not selected, table order
  std::vector<int> selected_;
  std::vector<int> initial_;
  double current_auc_ = 0.5;
  std::vector<std::vector<int>> trials_;
  std::vector<Model> models_;
  int step_ = 0;
  FederatedSelection result_;
};

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_SELECTION_DRIVER_H_
