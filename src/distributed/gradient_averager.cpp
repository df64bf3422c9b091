// Data-parallel gradients: bucketed all-reduces launched from gradient hooks while backward runs.

#include <attention/distributed.h>

#include <c10/util/Exception.h>

#include <mutex>

namespace attention {

struct GradientAverager::State {
  struct Bucket {
    std::vector<size_t> members;  // indices into parameters
    std::vector<int64_t> offsets;
    torch::Tensor flat;  // the members' gradients, one after the other
    size_t waiting = 0;  // members whose gradient has not arrived
    c10::intrusive_ptr<c10d::Work> work;
  };

  ProcessGroupPtr group;
  std::vector<torch::Tensor> parameters;
  std::vector<unsigned> hooks;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;  // per parameter
  std::vector<size_t> slot_of;    // its place in the bucket
  std::vector<bool> arrived;
  size_t next_to_launch = 0;
  std::mutex mutex;  // backward may run hooks on other threads (a device's)

  /// Launches, in bucket order, every bucket from next_to_launch whose gradients are all in: every rank then
  /// issues the same all-reduces in the same order, whatever order its hooks ran in.
  void launch_ready() {
    while (next_to_launch < buckets.size() && buckets[next_to_launch].waiting == 0) {
      launch(buckets[next_to_launch++]);
    }
  }

  void launch(Bucket& bucket) {
    bucket.flat.div_(group->getSize());
    std::vector<torch::Tensor> tensors{bucket.flat};
    bucket.work = group->allreduce(tensors);
  }

  void arrive(size_t parameter, const torch::Tensor& gradient) {
    std::lock_guard<std::mutex> lock(mutex);
    TORCH_CHECK(!arrived[parameter], "GradientAverager: parameter ", parameter,
                " got a second gradient before synchronize(); call synchronize() after every backward pass");
    arrived[parameter] = true;
    auto& bucket = buckets[bucket_of[parameter]];
    const auto& value = parameters[parameter];
    bucket.flat.narrow(0, bucket.offsets[slot_of[parameter]], value.numel()).copy_(gradient.reshape(-1));
    --bucket.waiting;
    launch_ready();
  }
};

GradientAverager::GradientAverager(std::vector<torch::Tensor> parameters, ProcessGroupPtr group, int64_t bucket_bytes)
    : state_(std::make_shared<State>()) {
  TORCH_CHECK(group, "GradientAverager: no process group");
  TORCH_CHECK(bucket_bytes > 0, "GradientAverager: bucket_bytes must be positive, got ", bucket_bytes);
  auto& state = *state_;
  state.group = std::move(group);
  state.parameters = std::move(parameters);
  const auto count = state.parameters.size();
  state.bucket_of.resize(count);
  state.slot_of.resize(count);
  state.arrived.assign(count, false);
  // Backward reaches the last parameters first: buckets fill from the end.
  int64_t bucket_size = 0;
  for (size_t back = 0; back < count; ++back) {
    const auto index = count - 1 - back;
    const auto& parameter = state.parameters[index];
    TORCH_CHECK(parameter.requires_grad(), "GradientAverager: parameter ", index, " does not require grad");
    const auto bytes = parameter.numel() * static_cast<int64_t>(parameter.element_size());
    const bool fits = !state.buckets.empty() && bucket_size + bytes <= bucket_bytes &&
                      state.parameters[state.buckets.back().members.front()].options().type_equal(parameter.options());
    if (!fits) {
      state.buckets.emplace_back();
      bucket_size = 0;
    }
    auto& bucket = state.buckets.back();
    state.bucket_of[index] = state.buckets.size() - 1;
    state.slot_of[index] = bucket.members.size();
    bucket.offsets.push_back(
        bucket.members.empty() ? 0 : bucket.offsets.back() + state.parameters[bucket.members.back()].numel());
    bucket.members.push_back(index);
    bucket_size += bytes;
  }
  for (auto& bucket : state.buckets) {
    const auto& last = state.parameters[bucket.members.back()];
    bucket.flat = torch::zeros({bucket.offsets.back() + last.numel()}, last.options());
    bucket.waiting = bucket.members.size();
  }
  State* raw = state_.get();  // the hooks are removed before the state goes
  for (size_t index = 0; index < count; ++index) {
    state.hooks.push_back(state.parameters[index].register_hook(
        [raw, index](const torch::Tensor& gradient) { raw->arrive(index, gradient); }));
  }
}

GradientAverager::~GradientAverager() {
  for (size_t index = 0; index < state_->parameters.size(); ++index) {
    state_->parameters[index].remove_hook(state_->hooks[index]);
  }
  for (auto& bucket : state_->buckets) {
    if (bucket.work) {
      try {
        bucket.work->wait();
      } catch (const std::exception&) {  // a destructor does not throw: the group reported it already
      }
    }
  }
}

void GradientAverager::synchronize() {
  auto& state = *state_;
  std::lock_guard<std::mutex> lock(state.mutex);
  for (auto& bucket : state.buckets) {
    bucket.waiting = 0;  // a gradient that never came stays zeros
  }
  state.launch_ready();
  for (auto& bucket : state.buckets) {
    bucket.work->wait();
    bucket.work.reset();
    for (size_t slot = 0; slot < bucket.members.size(); ++slot) {
      auto& parameter = state.parameters[bucket.members[slot]];
      const auto mean = bucket.flat.narrow(0, bucket.offsets[slot], parameter.numel()).view_as(parameter);
      if (parameter.grad().defined()) {
        parameter.mutable_grad().copy_(mean);
      } else {
        parameter.mutable_grad() = mean.clone();
      }
    }
    bucket.flat.zero_();
    bucket.waiting = bucket.members.size();
  }
  state.arrived.assign(state.arrived.size(), false);
  state.next_to_launch = 0;
}

}  // namespace attention
