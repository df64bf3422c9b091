# The presets' toolchain file: compile with clang++ when it is installed (cmake/install-deps.sh installs it), else
# with the system's compiler. Build time: GCC instantiates the templates that LibTorch's headers leave pending again
# in every translation unit, precompiled header or not (about 11 s a unit, -ftime-report's "template
# instantiation"); clang instantiates them once, in the precompiled header (-fpch-instantiate-templates, which CMake
# passes). A compiler chosen by the caller (-DCMAKE_CXX_COMPILER=g++, or CXX=g++) is kept.
if(NOT CMAKE_CXX_COMPILER AND NOT DEFINED ENV{CXX})
  find_program(ATTENTION_CLANGXX clang++)
  if(ATTENTION_CLANGXX)
    set(CMAKE_CXX_COMPILER "${ATTENTION_CLANGXX}")
  endif()
endif()
