# Installs a built attention tree into a scratch prefix, then configures, builds and runs tests/consumer against
# that prefix alone, as a user of the package would. Fails (non-zero exit) at the first step that fails.
#
#   cmake -DBUILD_DIR=<attention build> -DWORK_DIR=<scratch dir> -DSOURCE_DIR=<tests/consumer>
#         -DGENERATOR=<generator> -DLIBDIR=<CMAKE_INSTALL_LIBDIR> [-DCONFIG=<Release|...>]
#         [-DCXX_COMPILER=<path>] [-DLIBRARY_TYPE=<STATIC_LIBRARY|SHARED_LIBRARY>] [-DPICTURES=<1|0>]
#         [-DMODELS=<1|0>] [-DDISTRIBUTED=<1|0>] -P run_consumer_test.cmake
# PICTURES (default 1): the install has the pictures component, and the consumer uses it too. MODELS (default 1):
# the same for the models component, whose consumer reads the tokenizer of tests/data/tokenizers/gpt2. DISTRIBUTED
# (default 1): the same for the distributed component.
cmake_minimum_required(VERSION 3.18)

foreach(required BUILD_DIR WORK_DIR SOURCE_DIR GENERATOR LIBDIR)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer_test.cmake: -D${required}=... is required")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${prefix}" "${consumer_build}")

# Runs one step; stops the script with its output when it fails.
function(run_step name)
  message(STATUS "consumer test: ${name}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "consumer test: '${name}' failed (${result}): ${ARGN}")
  endif()
endfunction()

set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

run_step("install into ${prefix}" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})

# The install carries ATTENTION_STATIC_DEFINE exactly when the library is static.
set(targets_file "${prefix}/${LIBDIR}/cmake/Attention/AttentionTargets.cmake")
if(NOT EXISTS "${targets_file}")
  message(FATAL_ERROR "consumer test: the install has no ${targets_file}")
endif()
file(READ "${targets_file}" targets)
string(FIND "${targets}" "ATTENTION_STATIC_DEFINE" static_define)
if(LIBRARY_TYPE STREQUAL "STATIC_LIBRARY" AND static_define EQUAL -1)
  message(FATAL_ERROR "consumer test: static install, but ${targets_file} lacks ATTENTION_STATIC_DEFINE")
elseif(LIBRARY_TYPE STREQUAL "SHARED_LIBRARY" AND NOT static_define EQUAL -1)
  message(FATAL_ERROR "consumer test: shared install, but ${targets_file} defines ATTENTION_STATIC_DEFINE")
endif()
string(FIND "${targets}" "PRECOMPILE_HEADERS" pch)
if(NOT pch EQUAL -1)
  message(FATAL_ERROR "consumer test: ${targets_file} exports a precompiled header")
endif()

if(NOT DEFINED PICTURES)
  set(PICTURES 1)
endif()
if(NOT DEFINED MODELS)
  set(MODELS 1)
endif()
if(NOT DEFINED DISTRIBUTED)
  set(DISTRIBUTED 1)
endif()
set(configure_args -S "${SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${prefix}"
    "-DCONSUMER_PICTURES=${PICTURES}" "-DCONSUMER_MODELS=${MODELS}"
    "-DCONSUMER_DISTRIBUTED=${DISTRIBUTED}")
if(CONFIG)
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
if(CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
run_step("configure ${SOURCE_DIR}" "${CMAKE_COMMAND}" ${configure_args})

# It must have found this install, not another one on the machine.
file(STRINGS "${consumer_build}/CMakeCache.txt" attention_dir REGEX "^Attention_DIR:")
string(REGEX REPLACE "^Attention_DIR:[A-Z]+=" "" attention_dir "${attention_dir}")
file(REAL_PATH "${prefix}" real_prefix)
file(REAL_PATH "${attention_dir}" real_attention_dir)
string(FIND "${real_attention_dir}/" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "consumer test: found Attention in ${attention_dir}, not in ${prefix}")
endif()

run_step("build" "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})

set(consumer "${consumer_build}/consumer")
if(CONFIG AND EXISTS "${consumer_build}/${CONFIG}/consumer")
  set(consumer "${consumer_build}/${CONFIG}/consumer")  # multi-config generators
endif()
run_step("run" "${consumer}")
if(PICTURES)
  run_step("run consumer_pictures" "${consumer}_pictures" "${WORK_DIR}/consumer_heatmap.png")
endif()
if(MODELS)
  run_step("run consumer_models" "${consumer}_models" "${SOURCE_DIR}/../data/tokenizers/gpt2")
endif()
if(DISTRIBUTED)
  run_step("run consumer_distributed" "${consumer}_distributed")
endif()
