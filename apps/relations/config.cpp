#include "relations/config.h"

#include "training/enum_names.h"

namespace attention::app {

const std::vector<std::string>& model_kind_names() {
  static const std::vector<std::string> names = {"simple", "scaled", "multihead"};
  return names;
}

const std::string& model_kind_name(ModelKind kind) { return model_kind_names().at(static_cast<size_t>(kind)); }

ModelKind model_kind_from_name(const std::string& name) {
  return enum_of_name<ModelKind>(model_kind_names(), name, "model");
}

void to_json(nlohmann::json& json, ModelKind kind) { json = model_kind_name(kind); }

void from_json(const nlohmann::json& json, ModelKind& kind) { kind = model_kind_from_name(json.get<std::string>()); }

}  // namespace attention::app
