# SPDX-License-Identifier: Apache-2.0
#
# nova_add_kernels(<target> SPEC <model.yaml> [RULES <rules.yaml>]
#                  [TARGET cpu] [CPU <tier>...] [PREFIX <prefix>]
#                  [OPTIONS <nova-opt flags>...])
#
# Runs nova-opt at build time (one run: object, header, manifest and a
# depfile) and defines <target>, a static library holding the object, with
# the header's directory as its include directory and Nova's runtime (and
# the OpenMP runtime the kernels call) as its dependencies. The header is
# <target>.h, the manifest <target>.json (the target's NOVA_MANIFEST
# property). Edits to the spec, the rules or nova-opt rebuild it; unchanged
# inputs do not, and the outputs are byte-identical from one build to the
# next.
#
# CPU defaults to x86-64-v3 (AVX2 + FMA: runs on any x86-64 machine of the
# last decade); "native" compiles for the building machine. Several tiers,
# the baseline first (CPU x86-64-v3 x86-64-v4 sapphirerapids), give one
# object with a copy of the kernels for each: its entries run the last tier
# the CPU has, chosen at the first call (docs/using-nova-in-your-build.md).
# PREFIX defaults to "<target>_".
function(nova_add_kernels target)
  cmake_parse_arguments(PARSE_ARGV 1 NOVA "" "SPEC;RULES;TARGET;PREFIX"
                        "CPU;OPTIONS")
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
                        "only cpu is supported by this Nova (cuda objects "
                        "are not generated yet)")
  endif()
  if(NOT NOVA_CPU)
    set(NOVA_CPU x86-64-v3)
  endif()
  list(JOIN NOVA_CPU "," cpus)
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
  set(depfile "${dir}/${target}.d")
  file(MAKE_DIRECTORY "${dir}")
  # The depfile names every file nova-opt read; the generators that cannot
  # read one still have the spec and the rules in DEPENDS.
  set(depfile_args "")
  if(CMAKE_GENERATOR MATCHES "Ninja|Makefiles")
    set(depfile_args DEPFILE "${depfile}")
  endif()
  add_custom_command(
    OUTPUT "${object}" "${header}" "${manifest}"
    COMMAND Nova::nova-opt "${spec}" ${rules_flags} --emit=obj -o "${object}"
            "--emit-header=${header}" "--emit-manifest=${manifest}"
            "--emit-depfile=${depfile}" "--target-cpu=${cpus}"
            "--emit-prefix=${NOVA_PREFIX}" --progress=never ${NOVA_OPTIONS}
    DEPENDS ${depends} Nova::nova-opt
    ${depfile_args}
    COMMENT "Nova: compiling ${NOVA_SPEC} for ${cpus}"
    VERBATIM)
  set_source_files_properties("${object}" PROPERTIES EXTERNAL_OBJECT TRUE
                              GENERATED TRUE)
  add_library(${target} STATIC "${object}" "${header}")
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C
                        NOVA_MANIFEST "${manifest}")
  target_include_directories(${target} PUBLIC "${dir}")
  target_link_libraries(${target} PUBLIC Nova::runtime Nova::omp m)
endfunction()
