#include "relation_config.h"

#include <stdexcept>

namespace attention::app {

const std::vector<std::string>& model_kind_names() {
  static const std::vector<std::string> names = {"simple", "scaled", "multihead"};
  return names;
}

const std::string& model_kind_name(ModelKind kind) { return model_kind_names().at(static_cast<size_t>(kind)); }

ModelKind model_kind_from_name(const std::string& name) {
  const auto& names = model_kind_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      return static_cast<ModelKind>(i);
    }
  }
  throw std::invalid_argument("unknown model '" + name + "' (expected simple, scaled or multihead)");
}

void to_json(nlohmann::json& json, ModelKind kind) { json = model_kind_name(kind); }

void from_json(const nlohmann::json& json, ModelKind& kind) { kind = model_kind_from_name(json.get<std::string>()); }

}  // namespace attention::app
