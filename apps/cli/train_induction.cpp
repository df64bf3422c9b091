// `attention train --task induction`: the models, their training on generated sequences, the pictures and the
// summary.
#include "cli/command_line.h"
#include "cli/train_run.h"
#include "induction/checkpoint.h"
#include "induction/pictures.h"
#include "induction/trainer.h"

#include <iomanip>
#include <iostream>
#include <sstream>

namespace attention::app {
namespace {

void print_summary(const InductionMetrics& metrics, const std::string& out_dir,
                   const std::vector<std::string>& pictures) {
  const auto& config = metrics.model;
  const auto row = [](const std::string& name, const ModelMetrics& model) {
    const auto& phase = model.phase_change_step.step;
    std::cout << "  " << std::left << std::setw(20) << name << std::right << std::fixed << std::setprecision(2)
              << std::setw(10) << model.repeated_half_loss << std::setw(8) << model.other_loss << std::setw(11)
              << model.induction_score << std::setw(8) << model.previous_token_score << std::setw(8)
              << (phase ? std::to_string(*phase) : "-") << std::setw(8) << model.steps << std::setprecision(1)
              << std::setw(9) << model.seconds << "\n";
  };
  std::cout << "\nInduction heads: does the model copy a repeated segment? " << config.test_sequences
            << " held-out sequences of " << config.length << " tokens, a segment of " << config.min_segment << "-"
            << config.max_segment << " repeated once\n\n"
            << "  " << std::left << std::setw(20) << "model" << std::right << std::setw(10) << "repeated"
            << std::setw(8) << "rest" << std::setw(11) << "induction" << std::setw(8) << "prev." << std::setw(8)
            << "phase" << std::setw(8) << "steps" << std::setw(9) << "seconds"
            << "\n";
  row("baseline: " + layers_name(metrics.baseline.layers), metrics.baseline);
  row("trained: " + layers_name(metrics.layers), metrics);
  std::cout << "\n  (repeated, rest: held-out next-token loss in nats on the repeated half and on the rest;\n"
               "   induction: the best last-layer head's mean attention to the token after the first occurrence;\n"
               "   prev.: the best first-layer head's to the previous token; phase: the first step at which the\n"
               "   repeated-half loss was below half its start)\n";
  print_files(out_dir, pictures);
}

}  // namespace

int run_induction(const InductionConfig& config, const RunSettings& settings, DataParallel& ranks) {
  auto models = built_or_usage_error(config.dim, config.heads, [&] { return models_for(config); });
  InductionFrames frames = watch_sequence(held_out_sequences(config));
  const auto progress = progress_line(settings.quiet);
  const auto report = [progress](const InductionReport& evaluation) {
    if (evaluation.record.epoch == 0) {
      return;  // before training
    }
    std::ostringstream values;
    values << "loss " << std::fixed << std::setprecision(4) << evaluation.loss << "  held-out: repeated half "
           << std::setprecision(2) << evaluation.record.repeated_half_loss << ", rest " << evaluation.record.other_loss
           << "  induction " << evaluation.record.induction_score << "  " << std::setprecision(0)
           << evaluation.sequences_per_second << " sequences/s";
    progress(evaluation.baseline ? "baseline, 1 layer:" : "trained:", evaluation.record.epoch, evaluation.epochs,
             values.str());
  };
  const auto run =
      train_induction(models, settings.out_dir, settings.resume, stop_on_ctrl_c(),
                      ranks.is_first() ? capture_induction_frames(frames, report) : InductionCallbacks{}, ranks);
  if (!ranks.is_first()) {
    return run ? 0 : kExitInterrupted;
  }
  if (!run) {
    return interrupted(settings.out_dir);
  }
  const auto pictures = write_induction_pictures(settings.out_dir, *run, frames);
  if (!settings.quiet) {
    print_summary(run->metrics, settings.out_dir, pictures);
  }
  return 0;
}

}  // namespace attention::app
