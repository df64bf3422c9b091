# Run at build time by attention_discover_test_suites (AttentionBuildHelpers.cmake): lists the GoogleTest executable
# EXE's tests and writes OUT, a CTest file with one test per suite, `<suite>` running `EXE
# --gtest_filter=<suite>.*`. One process per suite, not per test: each process pays about 0.7 s to load LibTorch.
execute_process(COMMAND "${EXE}" --gtest_list_tests
                OUTPUT_VARIABLE listing
                RESULT_VARIABLE status
                TIMEOUT 120)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${EXE} --gtest_list_tests failed (${status}):\n${listing}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(content "")
foreach(line IN LISTS lines)
  # A suite's line starts without a space and ends in '.', before an optional "  # TypeParam = ..." comment.
  if(line MATCHES "^([^ #][^ ]*)\\.( *#.*)?$")
    set(suite "${CMAKE_MATCH_1}")
    string(APPEND content "add_test([=[${suite}]=] [=[${EXE}]=] [=[--gtest_filter=${suite}.*]=])\n")
  endif()
endforeach()
if(content STREQUAL "")
  message(FATAL_ERROR "${EXE} --gtest_list_tests listed no test suite:\n${listing}")
endif()
file(WRITE "${OUT}" "${content}")
