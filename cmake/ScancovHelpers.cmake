# scancov_test(NAME SOURCES ... DEPS ...): one GoogleTest executable registered with CTest.
# Tests run with the repository root as working directory so that ../shared/data resolves.
function(scancov_test name)
  if(NOT SCANCOV_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT;ENVIRONMENT_MODIFICATION" "SOURCES;DEPS;LABELS" ${ARGN})
  # While several people edit the tree at once, a test whose sources are not written yet can be
  # skipped with -DSCANCOV_STRICT_TESTS=OFF. CI and `make test` keep the default: an error.
  if(NOT SCANCOV_STRICT_TESTS)
    foreach(src ${ARG_SOURCES})
      if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${src})
        message(WARNING "${name}: ${src} missing; test skipped (SCANCOV_STRICT_TESTS=OFF)")
        return()
      endif()
    endforeach()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock scancov_test_main)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  # OpenBLAS (scripts/install-deps.sh) picks its kernels by CPU; the tests that pin trained
  # weights (models/nn/weight_pins_test_util.h) hold on every x86-64 CPU with AVX2 because every
  # test runs with the same kernels. (Ignored by any other BLAS.)
  set(properties TIMEOUT ${ARG_TIMEOUT} ENVIRONMENT "OPENBLAS_CORETYPE=Haswell")
  if(ARG_LABELS)
    list(APPEND properties LABELS "${ARG_LABELS}")
  endif()
  # One variable, e.g. "OMP_NUM_THREADS=set:2" (CTest's ENVIRONMENT_MODIFICATION syntax).
  if(ARG_ENVIRONMENT_MODIFICATION)
    list(APPEND properties ENVIRONMENT_MODIFICATION "${ARG_ENVIRONMENT_MODIFICATION}")
  endif()
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    DISCOVERY_TIMEOUT 60
    PROPERTIES ${properties})
endfunction()
