# SPDX-License-Identifier: Apache-2.0
#
# nova_add_kernels(<target> SPEC <model.yaml> [RULES <rules.yaml>]
#                  [TARGET cpu] [CPU <cpu>] [PREFIX <prefix>]
#                  [OPTIONS <nova-opt flags>...])
#
# Runs nova-opt at build time (one run: object, header and manifest) and
# defines <target>, a static library holding the object, with the header's
# directory as its include directory and Nova's runtime (and the OpenMP
# runtime the kernels call) as its dependencies. The header is <target>.h,
# the manifest <target>.json (the target's NOVA_MANIFEST property). Edits
# to the spec, the rules or nova-opt rebuild it; unchanged inputs do not,
# and the outputs are byte-identical from one build to the next.
#
# CPU defaults to x86-64-v3 (AVX2 + FMA: runs on any x86-64 machine of the
# last decade); "native" compiles for the building machine. PREFIX defaults
# to "<target>_".
function(nova_add_kernels target)
  cmake_parse_arguments(PARSE_ARGV 1 NOVA "" "SPEC;RULES;TARGET;CPU;PREFIX"
                        "OPTIONS")
  if(NOVA_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "nova_add_kernels(${target}): unknown arguments "
                        "${NOVA_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT NOVA_SPEC)
    message(FATAL_ERROR "nova_add_kernels(${target}): SPEC <model.yaml> is required")
  endif()
  if(NOT NOVA_TARGET)
    set(NOVA_TARGET cpu)
  endif()
  if(NOT NOVA_TARGET STREQUAL "cpu")
    message(FATAL_ERROR "nova_add_kernels(${target}): TARGET ${NOVA_TARGET}: "
                        "only cpu is supported by this Nova")
  endif()
  if(NOT NOVA_CPU)
    set(NOVA_CPU x86-64-v3)
  endif()
  if(NOT DEFINED NOVA_PREFIX)
    string(MAKE_C_IDENTIFIER "${target}_" NOVA_PREFIX)
  endif()
  get_filename_component(spec "${NOVA_SPEC}" ABSOLUTE)
  set(depends "${spec}")
  set(rules_flags "")
  if(NOVA_RULES)
    get_filename_component(rules "${NOVA_RULES}" ABSOLUTE)
    list(APPEND depends "${rules}")
    set(rules_flags --rules "${rules}")
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${target}.nova")
  set(object "${dir}/${target}.o")
  set(header "${dir}/${target}.h")
  set(manifest "${dir}/${target}.json")
  file(MAKE_DIRECTORY "${dir}")
  add_custom_command(
    OUTPUT "${object}" "${header}" "${manifest}"
    COMMAND Nova::nova-opt "${spec}" ${rules_flags} --emit=obj -o "${object}"
            "--emit-header=${header}" "--emit-manifest=${manifest}"
            "--target-cpu=${NOVA_CPU}" "--emit-prefix=${NOVA_PREFIX}"
            --progress=never ${NOVA_OPTIONS}
    DEPENDS ${depends} Nova::nova-opt
    COMMENT "Nova: compiling ${NOVA_SPEC} for ${NOVA_CPU}"
    VERBATIM)
  set_source_files_properties("${object}" PROPERTIES EXTERNAL_OBJECT TRUE
                              GENERATED TRUE)
  add_library(${target} STATIC "${object}" "${header}")
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C
                        NOVA_MANIFEST "${manifest}")
  target_include_directories(${target} PUBLIC "${dir}")
  target_link_libraries(${target} PUBLIC Nova::runtime Nova::omp m)
endfunction()
