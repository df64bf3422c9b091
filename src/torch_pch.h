#pragma once
// The precompiled header of every target. The library builds with hidden visibility; LibTorch's templates
// (ModuleHolder<LinearImpl>, Cloneable<...>) must keep default visibility, or classes that hold them and are
// exported would be "declared with greater visibility than the type of its field".
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif
#include <torch/torch.h>
#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
