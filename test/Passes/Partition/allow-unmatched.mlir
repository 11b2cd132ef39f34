// RUN: nova-opt %s --nova-apply-partition-rules=allow-unmatched --verify-diagnostics | FileCheck %s

nova.mesh @mesh ["model" = 4]
nova.partition_rules {
  nova.partition_rule ["w"] -> <@mesh, ["model"]>
}
// CHECK-LABEL: func.func @unmatched
func.func @unmatched() {
  // CHECK: nova.param "a/scale" sharding <@mesh, []> : tensor<8xf32>
  // expected-warning @below {{parameter 'a/scale' matches no partition rule; it is replicated}}
  %0 = nova.param "a/scale" : tensor<8xf32>
  // CHECK: nova.param "a/w" sharding <@mesh, ["model"]> {nova.partition_rule = 0 : i64}
  %1 = nova.param "a/w" : tensor<8xf32>
  return
}
