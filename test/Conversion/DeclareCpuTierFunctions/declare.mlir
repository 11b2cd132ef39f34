// RUN: nova-opt %s --split-input-file --nova-declare-cpu-tier-functions -verify-diagnostics | FileCheck %s

// The CPU tier functions are declared once, private; a declaration already
// there with the right type is kept.
// CHECK-LABEL: module
// CHECK-DAG: func.func private @__nova_cpu_has_bf16_dot() -> i1
// CHECK-DAG: func.func private @__nova_cpu_dot_bf16_pairs(vector<16xf32>, vector<16xi32>, vector<16xi32>) -> vector<16xf32>
// CHECK-NOT: @__nova_cpu_has_bf16_dot
func.func private @__nova_cpu_has_bf16_dot() -> i1

// -----

// The names are reserved: a declaration of another type, or another symbol
// of the name, is an error.
// expected-error @+1 {{'__nova_cpu_has_bf16_dot' is Nova's CPU tier function of type '() -> i1'}}
func.func private @__nova_cpu_has_bf16_dot() -> i32

// -----

// expected-error @+1 {{the symbol '__nova_cpu_dot_bf16_pairs' is reserved for Nova's CPU tier functions}}
memref.global "private" @__nova_cpu_dot_bf16_pairs : memref<4xf32>
