# Warnings for the project's own code. LibTorch and OpenCV come in through imported targets, whose include
# directories CMake marks SYSTEM, so their headers do not drown ours.
function(attention_enable_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra)
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4)
  endif()
endfunction()

# Reuses the core library's precompiled <torch/torch.h> in another target. A precompiled header is only
# valid for the same code-generation flags, so the target compiles with -fPIC like the library.
function(attention_reuse_torch_pch target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  target_precompile_headers(${target} REUSE_FROM attention)
endfunction()
