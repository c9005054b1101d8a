# Run as a script: writes OUT (a header) holding each file of FILES as a
# std::string_view constant named after the file (rooms/apply.lua -> kApplyLua).
# Used so Lua scripts and other assets stay in their own files yet ship inside
# the binary.
set(content "#pragma once\n// Generated from ${SOURCES_LIST}; do not edit.\n#include <string_view>\nnamespace ${NAMESPACE} {\n")
string(REPLACE "|" ";" files "${SOURCES_LIST}")
foreach(path IN LISTS files)
  get_filename_component(name "${path}" NAME)
  set(camel "")
  string(REGEX REPLACE "[^A-Za-z0-9]+" ";" parts "${name}")
  foreach(part IN LISTS parts)
    string(SUBSTRING "${part}" 0 1 p0)
    string(TOUPPER "${p0}" p0)
    string(SUBSTRING "${part}" 1 -1 p1)
    string(APPEND camel "${p0}${p1}")
  endforeach()
  file(READ "${path}" body)
  string(APPEND content "inline constexpr std::string_view k${camel} = R\"jcembed(${body})jcembed\";\n")
endforeach()
string(APPEND content "}  // namespace ${NAMESPACE}\n")
file(WRITE "${OUT}.tmp" "${content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
