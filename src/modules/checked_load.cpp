#include "checked_load.h"

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace attention::detail {

void load_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive) {
  struct Pending {
    torch::Tensor target;
    torch::Tensor loaded;
  };
  std::vector<Pending> pending;
  // Reads everything first, so a refused load changes nothing.
  std::function<void(torch::nn::Module&, torch::serialize::InputArchive&, const std::string&)> read_all =
      [&](torch::nn::Module& node, torch::serialize::InputArchive& node_archive, const std::string& prefix) {
        const auto read = [&](const std::string& name, const torch::Tensor& target, bool is_buffer) {
          torch::Tensor loaded;
          node_archive.read(name, loaded, is_buffer);
          TORCH_CHECK(loaded.sizes() == target.sizes(), "cannot load ", module.name(), ": '", prefix + name,
                      "' has shape ", target.sizes(), " in this module but ", loaded.sizes(),
                      " in the file (was it saved from a module of other sizes?)");
          pending.push_back({target, loaded});
        };
        for (const auto& parameter : node.named_parameters(/*recurse=*/false)) {
          read(parameter.key(), parameter.value(), false);
        }
        for (const auto& buffer : node.named_buffers(/*recurse=*/false)) {
          read(buffer.key(), buffer.value(), true);
        }
        for (const auto& child : node.named_children()) {
          torch::serialize::InputArchive child_archive;
          node_archive.read(child.key(), child_archive);
          read_all(*child.value(), child_archive, prefix + child.key() + ".");
        }
      };
  read_all(module, archive, "");
  torch::NoGradGuard no_grad;
  for (auto& [target, loaded] : pending) {
    target.copy_(loaded);
  }
}

}  // namespace attention::detail
