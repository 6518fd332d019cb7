# The fuzz harnesses and their regression runners. Included from
# tests/CMakeLists.txt in every build: each harness is also linked with
# regress_main.c and replays tests/fuzz/regress/<harness>/ as a test, so
# every input a fuzzer found stays a test under gcc, ASan and valgrind.
# The libFuzzer builds are in CMakeLists.txt here (DUPWATCH_FUZZ=ON).
set(DW_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(DW_FUZZ_HARNESSES fuzz_xml fuzz_xmlev_doc fuzz_evtx fuzz_evtx_tail
  fuzz_config fuzz_theme fuzz_sanitize)
# The BinXML fast path joins once it is part of the core library.
get_target_property(_dw_core_srcs dupwatch_core SOURCES)
if("binxml.c" IN_LIST _dw_core_srcs)
  list(APPEND DW_FUZZ_HARNESSES fuzz_binxml)
endif()

foreach(h IN LISTS DW_FUZZ_HARNESSES)
  add_executable(${h}_regress ${DW_FUZZ_DIR}/${h}.c ${DW_FUZZ_DIR}/fuzz_common.c
    ${DW_FUZZ_DIR}/regress_main.c)
  target_link_libraries(${h}_regress PRIVATE dupwatch_core)
  add_test(NAME ${h}_regress COMMAND ${h}_regress ${DW_FUZZ_DIR}/regress/${h})
  set_tests_properties(${h}_regress PROPERTIES LABELS "unit;fuzz"
    ENVIRONMENT "LSAN_OPTIONS=suppressions=${DW_FUZZ_DIR}/lsan.supp")
endforeach()
# These call libevtx themselves (fuzz_evtx_tail compiles src_evtx.c in,
# fuzz_binxml compares with libevtx).
target_link_libraries(fuzz_evtx_tail_regress PRIVATE PkgConfig::LIBEVTX PkgConfig::LIBBFIO)
if(TARGET fuzz_binxml_regress)
  target_link_libraries(fuzz_binxml_regress PRIVATE PkgConfig::LIBEVTX PkgConfig::LIBBFIO)
  target_sources(fuzz_binxml_regress PRIVATE ${PROJECT_SOURCE_DIR}/tests/fixtures/evdiff.c)
  target_include_directories(fuzz_binxml_regress PRIVATE ${PROJECT_SOURCE_DIR}/tests/fixtures)
endif()
