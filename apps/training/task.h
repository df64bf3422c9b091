#pragma once
// The tasks `attention train` trains (--task), by name: on the command line, in checkpoints and in metrics.json.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attention::app {

enum class Task {
  Relations,  ///< "relations": which word a query relates to (warm -> mat), against a similarity baseline
  Induction,  ///< "induction": copying a repeated segment, a two-layer model against a one-layer one
};

/// The names of the tasks, in the order of Task: the values of --task.
const std::vector<std::string>& task_names();
const std::string& task_name(Task task);
/// The task named `name`; std::invalid_argument naming it and the known names when there is none.
Task task_from_name(const std::string& name);

/// Written as its name; reading an unknown name throws.
void to_json(nlohmann::json& json, Task task);
void from_json(const nlohmann::json& json, Task& task);

}  // namespace attention::app
