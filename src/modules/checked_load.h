#pragma once
// Loading a module from a torch::save archive, refusing parameters of another shape. Internal; not installed.

#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>

namespace attention::detail {

/// Module::load that first reads every tensor, refuses any whose shape differs from the module's (naming the
/// parameter path and both shapes), and only then copies, so a refused load leaves the module unchanged.
void load_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive);

}  // namespace attention::detail
