# Fuzz target for jobcast.v1 frame decoding (tests/fuzz/ws_frame_fuzz.cpp).
# With JOBCAST_FUZZ (clang) it is a libFuzzer binary run for 20 s; otherwise a
# replay + mutation driver run for 3 s. Either way CTest runs it.
add_executable(ws_frame_fuzz ${CMAKE_CURRENT_LIST_DIR}/ws_frame_fuzz.cpp)
target_compile_options(ws_frame_fuzz PRIVATE ${JOBCAST_WARNINGS})
target_link_libraries(ws_frame_fuzz PRIVATE jobcast_signaling)
set(ws_frame_corpus ${CMAKE_CURRENT_LIST_DIR}/corpus/ws_frame)
if(JOBCAST_FUZZ)
  target_compile_definitions(ws_frame_fuzz PRIVATE JOBCAST_LIBFUZZER)
  target_compile_options(ws_frame_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(ws_frame_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  # Coverage feedback from the code under test, not just the harness.
  foreach(lib jobcast_signaling jobcast_live)
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link)
  endforeach()
  # New inputs go to the first directory: keep them in the build tree.
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/ws_frame_corpus)
  add_test(NAME fuzz.ws_frame
    COMMAND ws_frame_fuzz -max_total_time=20 -max_len=9000
            ${CMAKE_CURRENT_BINARY_DIR}/ws_frame_corpus ${ws_frame_corpus})
else()
  add_test(NAME fuzz.ws_frame COMMAND ws_frame_fuzz --seconds 3 ${ws_frame_corpus})
endif()
set_tests_properties(fuzz.ws_frame PROPERTIES LABELS fuzz TIMEOUT 120)
