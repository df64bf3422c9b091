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
# valid for the same code-generation flags and language dialect, so the target compiles with -fPIC and without GNU
# extensions like the library (clang refuses the header otherwise).
function(attention_reuse_torch_pch target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_precompile_headers(${target} REUSE_FROM attention)
endfunction()

# Adds one CTest test per GoogleTest suite of executable `target` (not one per test, as gtest_discover_tests does:
# each process loads LibTorch, about 0.7 s). The suites are listed after each build (DiscoverTestSuites.cmake).
function(attention_discover_test_suites target)
  set(suites_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -D "EXE=$<TARGET_FILE:${target}>" -D "OUT=${suites_file}"
            -P "${ATTENTION_SOURCE_DIR}/cmake/DiscoverTestSuites.cmake"
    BYPRODUCTS "${suites_file}"
    VERBATIM)
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake")
  file(WRITE "${include_file}"
       "if(EXISTS \"${suites_file}\")\n  include(\"${suites_file}\")\nelse()\n"
       "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()

include(GenerateExportHeader)

# Settings shared by the project's libraries: C++17, hidden symbols but the API, a versioned shared object,
# warnings, and the export header `export_header` whose macro is <base_name>_API.
function(attention_library_defaults target base_name export_header)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "STATIC_LIBRARY")
    # A static library's users must see <base_name>_API empty; PUBLIC, so the installed target carries it.
    target_compile_definitions(${target} PUBLIC ${base_name}_STATIC_DEFINE)
  else()
    # The export header exports when <target>_EXPORTS is defined. Define it on the library's own sources only,
    # not on the whole target (CMake's DEFINE_SYMBOL): the precompiled header that other targets reuse must be
    # built with the macros they have, or GCC ignores it ("not used because `attention_EXPORTS' not defined").
    set_target_properties(${target} PROPERTIES DEFINE_SYMBOL "")
    get_target_property(sources ${target} SOURCES)
    set_property(SOURCE ${sources} APPEND PROPERTY COMPILE_DEFINITIONS ${target}_EXPORTS)
  endif()
  target_compile_features(${target} PUBLIC cxx_std_17)
  set_target_properties(${target} PROPERTIES
    CXX_EXTENSIONS OFF
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR})
  generate_export_header(${target}
    BASE_NAME ${base_name}
    EXPORT_MACRO_NAME ${base_name}_API
    EXPORT_FILE_NAME "${export_header}")
  attention_enable_warnings(${target})
endfunction()

# Installs library `target` with its public `headers` (the remaining arguments) into the package: the export set
# `export_set` becomes <export_set>.cmake beside AttentionConfig.cmake, its targets named Attention::<EXPORT_NAME>.
function(attention_install_library target export_set)
  target_include_directories(${target} PUBLIC "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  install(TARGETS ${target} EXPORT ${export_set}
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Attention_Runtime
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Attention_Runtime
            NAMELINK_COMPONENT Attention_Development
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Attention_Development)
  install(FILES ${ARGN} DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/attention" COMPONENT Attention_Development)
  install(EXPORT ${export_set}
    NAMESPACE Attention::
    DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/Attention"
    COMPONENT Attention_Development)
endfunction()
