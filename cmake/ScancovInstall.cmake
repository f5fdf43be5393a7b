# `cmake --install`: the five programs a consortium runs, their documentation, the study
# templates and the systemd units (docs/install.md). Tests, benchmarks and fuzzers stay in the
# build tree.
#
# The synthetic-data tools (scancov-synth-cohort, -site, -ct) are not installed by default: a
# hospital machine has no use for invented patients, and a synthetic export beside a real one is
# a mistake waiting to be imported. -DSCANCOV_INSTALL_SYNTH_TOOLS=ON installs them (a demo or
# evaluation machine).
#
# Every project library is static (no BUILD_SHARED_LIBS), so an installed program needs only
# Debian's shared libraries: CMake drops the build tree's RUNPATH at install and none is set for
# the prefix.
# share/doc/scancov, not GNUInstallDirs' share/doc/<project name>.
set(CMAKE_INSTALL_DOCDIR "share/doc/scancov" CACHE PATH "Documentation (DOCDIR)")
include(GNUInstallDirs)

option(SCANCOV_INSTALL_SYNTH_TOOLS "Install the synthetic-data tools (demos, evaluation)" OFF)
option(SCANCOV_INSTALL_SYSTEMD_UNITS "Install the systemd units and the sysusers.d entry" ON)
set(SCANCOV_SYSTEMD_UNIT_DIR "lib/systemd/system"
    CACHE STRING "Where the systemd units go, relative to the prefix")

set(scancov_programs scancov-aggregator scancov-coord scancov-pki)
if(TARGET scancov-node)  # LibTorch builds only (SCANCOV_WITH_TORCH)
  list(APPEND scancov_programs scancov-node)
endif()
if(TARGET scancov-score)
  list(APPEND scancov_programs scancov-score)
endif()
if(SCANCOV_INSTALL_SYNTH_TOOLS)
  list(APPEND scancov_programs scancov-synth-cohort scancov-synth-site scancov-synth-ct)
endif()
install(TARGETS ${scancov_programs} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES README.md CHANGELOG.md LICENSE
              docs/architecture.md docs/benchmarks.md docs/install.md docs/privacy.md
              docs/protocol.md docs/studies.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/templates/ DESTINATION ${CMAKE_INSTALL_DATADIR}/scancov/templates
        FILES_MATCHING PATTERN "*.json")

if(SCANCOV_INSTALL_SYSTEMD_UNITS)
  # The units name the programs by their installed path, so they are written at install time,
  # for the prefix actually installed to (`cmake --install build --prefix /opt/scancov` too).
  # DESTDIR (packaging) stays out of the paths: file(INSTALL) adds it to the destination only.
  foreach(unit scancov-node.service scancov-aggregator.service)
    set(source ${PROJECT_SOURCE_DIR}/cmake/systemd/${unit}.in)
    # Staged per prefix: two installs of this tree at once (tests/install_test.cc) do not mix.
    install(CODE "
      set(SCANCOV_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
      set(SCANCOV_DOCDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
      string(MD5 prefix_hash \"\${CMAKE_INSTALL_PREFIX}\")
      set(staged \"${PROJECT_BINARY_DIR}/systemd/\${prefix_hash}/${unit}\")
      configure_file(\"${source}\" \"\${staged}\" @ONLY)
      file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${SCANCOV_SYSTEMD_UNIT_DIR}\"
           TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ FILES \"\${staged}\")
      file(REMOVE \"\${staged}\")")
  endforeach()
  install(FILES cmake/systemd/scancov.sysusers.conf DESTINATION lib/sysusers.d
          RENAME scancov.conf)
  install(FILES cmake/systemd/aggregator.env.example DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
