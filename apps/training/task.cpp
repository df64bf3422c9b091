#include "training/task.h"

#include "training/enum_names.h"

namespace attention::app {

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"relations", "induction"};
  return names;
}

const std::string& task_name(Task task) { return task_names().at(static_cast<size_t>(task)); }

Task task_from_name(const std::string& name) { return enum_of_name<Task>(task_names(), name, "task"); }

void to_json(nlohmann::json& json, Task task) { json = task_name(task); }

void from_json(const nlohmann::json& json, Task& task) { task = task_from_name(json.get<std::string>()); }

}  // namespace attention::app
