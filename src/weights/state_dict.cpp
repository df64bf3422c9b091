// read_state_dict: the file's format from its first bytes. load_state_dict: the file's names onto a module's
// parameters (torch.nn.MultiheadAttention's translated), checked in full before anything is copied.
#include <attention/state_dict.h>

#include "weight_files.h"

#include <torch/nn/module.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace attention {
namespace {

bool host_is_little_endian() {
  const uint16_t one = 1;
  unsigned char first_byte = 0;
  std::memcpy(&first_byte, &one, 1);
  return first_byte == 1;
}

enum class Format { TorchSave, Safetensors };

Format format_of(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ignored;  // a status that cannot be read shows as "cannot open" below
  const auto status = fs::status(path, ignored);
  TORCH_CHECK(status.type() != fs::file_type::not_found, path, ": no such file");
  TORCH_CHECK(!fs::is_directory(status), path, ": a directory, not a weight file");
  std::ifstream file(path, std::ios::binary);
  TORCH_CHECK(file, path, ": cannot open (", std::strerror(errno), ")");
  unsigned char start[9] = {};
  file.read(reinterpret_cast<char*>(start), sizeof start);
  const auto size = file.gcount();
  TORCH_CHECK(size > 0, path, ": an empty file, not a weight file");
  if (size >= 4 && std::memcmp(start, "PK\x03\x04", 4) == 0) {
    return Format::TorchSave;
  }
  if (size == sizeof start && start[8] == '{') {  // after the header length, the JSON header
    return Format::Safetensors;
  }
  TORCH_CHECK(start[0] != 0x80, path,
              ": a pickle without a zip archive: the legacy torch.save format (PyTorch < 1.6, or "
              "_use_new_zipfile_serialization=False); load it in Python and save it again with torch.save");
  C10_THROW_ERROR(Error, c10::str(path, ": neither a torch.save zip archive (which starts with \"PK\") nor a ",
                                  "safetensors file (an 8-byte header length, then '{')"));
}

// A tensor of the file, under the name of the module's parameter it is meant for.
struct Entry {
  std::string name;  // the module's parameter: "W_q.weight"
  std::string key;   // the file's key: "in_proj_weight"
  std::string part;  // the rows of a packed key: "[0:8]", or ""
  torch::Tensor tensor;
};

// The projections of a multi-head module, which torch.nn.MultiheadAttention names otherwise.
struct Projections {
  const torch::nn::Linear& W_q;
  const torch::nn::Linear& W_k;
  const torch::nn::Linear& W_v;
};

// The file's tensors by the module's names. With `projections`, torch.nn.MultiheadAttention's names are
// translated: in_proj_weight/in_proj_bias split by the output sizes of W_q, W_k, W_v; q/k/v_proj_weight;
// out_proj.* to W_o.*. Other keys keep their name (the module's own names, or unexpected keys).
std::vector<Entry> entries_of(const detail::TensorDict& file, const Projections* projections, const std::string& path) {
  std::vector<Entry> entries;
  std::map<std::string, std::string> key_of;  // name → the key that gave it
  const auto add = [&](const std::string& name, const std::string& key, const std::string& part,
                       const torch::Tensor& tensor) {
    const auto [previous, added] = key_of.emplace(name, key);
    TORCH_CHECK(added, path, ": both '", previous->second, "' and '", key, "' hold ", name);
    entries.push_back({name, key, part, tensor});
  };
  for (const auto& item : file) {
    const auto& key = item.key();
    const auto& tensor = item.value();
    if (projections == nullptr) {
      add(key, key, "", tensor);
    } else if (key == "bias_k" || key == "bias_v") {
      C10_THROW_ERROR(Error, c10::str(path, ": has '", key, "', the key/value bias of torch.nn.MultiheadAttention ",
                                      "with add_bias_kv=True, which this library's attention does not have"));
    } else if (key == "in_proj_weight" || key == "in_proj_bias") {
      const bool weight = key == "in_proj_weight";
      const std::pair<const char*, int64_t> parts[] = {{"W_q", projections->W_q->weight.size(0)},
                                                       {"W_k", projections->W_k->weight.size(0)},
                                                       {"W_v", projections->W_v->weight.size(0)}};
      const auto rows = parts[0].second + parts[1].second + parts[2].second;
      TORCH_CHECK(tensor.dim() == (weight ? 2 : 1) && tensor.size(0) == rows, path, ": '", key, "' has shape ",
                  tensor.sizes(), " but this module needs ", parts[0].second, " + ", parts[1].second, " + ",
                  parts[2].second, " = ", rows, weight ? " rows (W_q, W_k, W_v)" : " values (W_q, W_k, W_v)");
      int64_t start = 0;
      for (const auto& [linear, size] : parts) {
        add(std::string(linear) + (weight ? ".weight" : ".bias"), key, c10::str("[", start, ":", start + size, "]"),
            tensor.narrow(0, start, size));
        start += size;
      }
    } else if (key == "q_proj_weight" || key == "k_proj_weight" || key == "v_proj_weight") {
      add(std::string("W_") + key[0] + ".weight", key, "", tensor);
    } else if (key == "out_proj.weight" || key == "out_proj.bias") {
      add("W_o." + key.substr(std::strlen("out_proj.")), key, "", tensor);
    } else {
      add(key, key, "", tensor);
    }
  }
  return entries;
}

// torch.nn.MultiheadAttention's name for a parameter of a multi-head module, for messages.
std::string pytorch_name(const std::string& name) {
  if (name.rfind("W_o.", 0) == 0) {
    return "out_proj." + name.substr(4);
  }
  if (name.size() == 10 && name.compare(3, 7, ".weight") == 0) {  // W_q.weight
    return std::string("in_proj_weight or ") + name[2] + "_proj_weight";
  }
  return "in_proj_bias";
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) {
    text += (text.empty() ? "" : ", ") + item;
  }
  return text;
}

void load_into(torch::nn::Module& module, const std::string& path, const Projections* projections) {
  const auto entries = entries_of(read_state_dict(path), projections, path);
  const auto parameters = module.named_parameters();
  std::ostringstream description;
  module.pretty_print(description);

  // Strict, as PyTorch's load_state_dict: nothing missing, nothing unexpected.
  std::set<std::string> names, unexpected_keys;
  bool pytorch_names = false;
  std::vector<std::string> missing, unexpected;
  for (const auto& entry : entries) {
    names.insert(entry.name);
    pytorch_names |= entry.name != entry.key;
    if (!parameters.contains(entry.name) && unexpected_keys.insert(entry.key).second) {
      unexpected.push_back(entry.key);
    }
  }
  for (const auto& parameter : parameters) {
    if (names.count(parameter.key()) == 0) {
      missing.push_back(parameter.key() + (pytorch_names ? " (" + pytorch_name(parameter.key()) + ")" : ""));
    }
  }
  const bool pytorch_unexpected =
      projections == nullptr && std::any_of(unexpected.begin(), unexpected.end(), [](const std::string& key) {
        return key.rfind("in_proj_", 0) == 0 || key.rfind("out_proj.", 0) == 0;
      });
  TORCH_CHECK(missing.empty() && unexpected.empty(), path, ": does not fit ", description.str(),
              missing.empty() ? "" : ": missing keys: ", joined(missing),
              unexpected.empty() ? "" : (missing.empty() ? ": unexpected keys: " : "; unexpected keys: "),
              joined(unexpected),
              pytorch_unexpected ? " (torch.nn.MultiheadAttention's names load into MultiHeadAttention and "
                                   "SelfAttention)"
                                 : "");

  for (const auto& entry : entries) {
    const auto& parameter = parameters[entry.name];
    const auto origin = entry.key == entry.name ? "" : " ('" + entry.key + "'" + entry.part + ")";
    TORCH_CHECK(entry.tensor.is_floating_point(), path, ": '", entry.key, "' holds ", entry.tensor.scalar_type(),
                " values; parameters need floating-point ones");
    TORCH_CHECK(entry.tensor.sizes() == parameter.sizes(), path, ": '", entry.name, "' has shape ", parameter.sizes(),
                " in this module but ", entry.tensor.sizes(), " in the file", origin);
  }
  // Everything checked: now copy, converting to the parameters' dtype and device.
  torch::NoGradGuard no_grad;
  for (const auto& entry : entries) {
    parameters[entry.name].copy_(entry.tensor);
  }
}

}  // namespace

torch::OrderedDict<std::string, torch::Tensor> read_state_dict(const std::string& path) {
  TORCH_CHECK(host_is_little_endian(), path, ": weight files are little-endian; this machine is not");
  return format_of(path) == Format::TorchSave ? detail::read_torch_save(path) : detail::read_safetensors(path);
}

void load_state_dict(MultiHeadAttention& module, const std::string& path) {
  const Projections projections{module->W_q, module->W_k, module->W_v};
  load_into(*module, path, &projections);
}

void load_state_dict(SelfAttention& module, const std::string& path) {
  const Projections projections{module->W_q, module->W_k, module->W_v};
  load_into(*module, path, &projections);
}

void load_state_dict(ScaledDotProductAttention& module, const std::string& path) { load_into(*module, path, nullptr); }

}  // namespace attention
