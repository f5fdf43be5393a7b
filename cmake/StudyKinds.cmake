# The study kinds, read from protocol/study_kinds.def (the one list; see that file). Sets
#   SCANCOV_STUDY_KINDS        every kind's name
#   SCANCOV_PLAIN_STUDY_KINDS  the kinds whose node task needs no LibTorch
#   SCANCOV_TORCH_STUDY_KINDS  the kinds whose node task needs LibTorch
# and scancov_kind_sources(OUT PATTERN [KINDS...]) lists the files PATTERN names for each kind
# ("%_study.cc" -> "logistic_regression_study.cc", ...). Editing the list reconfigures.
set(_def ${PROJECT_SOURCE_DIR}/protocol/study_kinds.def)
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_def})
file(STRINGS ${_def} _lines REGEX "^SCANCOV_STUDY_KIND\\(")
set(SCANCOV_STUDY_KINDS)
set(SCANCOV_PLAIN_STUDY_KINDS)
set(SCANCOV_TORCH_STUDY_KINDS)
foreach(_line IN LISTS _lines)
  if(NOT _line MATCHES "^SCANCOV_STUDY_KIND\\(([a-z0-9_]+), *(TRAINING|ANALYSIS), *(plain|torch)\\)")
    message(FATAL_ERROR "protocol/study_kinds.def: cannot read '${_line}'")
  endif()
  list(APPEND SCANCOV_STUDY_KINDS ${CMAKE_MATCH_1})
  if(CMAKE_MATCH_3 STREQUAL "torch")
    list(APPEND SCANCOV_TORCH_STUDY_KINDS ${CMAKE_MATCH_1})
  else()
    list(APPEND SCANCOV_PLAIN_STUDY_KINDS ${CMAKE_MATCH_1})
  endif()
endforeach()

function(scancov_kind_sources out pattern)
  set(kinds ${ARGN})
  if(NOT kinds)
    set(kinds ${SCANCOV_STUDY_KINDS})
  endif()
  set(files)
  foreach(kind IN LISTS kinds)
    string(REPLACE "%" "${kind}" file "${pattern}")
    list(APPEND files ${file})
  endforeach()
  set(${out} ${files} PARENT_SCOPE)
endfunction()
