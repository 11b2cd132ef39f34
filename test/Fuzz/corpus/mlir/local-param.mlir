// RUN: nova-opt %s --split-input-file --verify-diagnostics | FileCheck %s

// A `local` parameter is one device's shard in an SPMD program: its types
// are the block of the whole parameter its spec and scale layout describe.

nova.mesh @mesh ["model" = 2]
// CHECK-LABEL: func.func @ok
func.func @ok() {
  // Row-split weight: K = 16 of 32, row_blocks = 4 of the whole weight are
  // 2 scale rows here.
  // CHECK: nova.param "w" scales <row_blocks = 4> sharding <@mesh, ["model"]> local
  %w, %s = nova.param "w" scales <row_blocks = 4> sharding <@mesh, ["model"]> local
      : tensor<16x8xi8>, tensor<2x8xbf16>
  // Column split, per-column scales follow.
  %v, %t = nova.param "v" scales <per_column> sharding <@mesh, [None, "model"]> local
      : tensor<8x4xi8>, tensor<1x4xbf16>
  return
}

// -----

nova.mesh @mesh ["model" = 2]
func.func @scales_not_the_shard() {
  // expected-error @+1 {{expected local scales of shape [2, 8], got [4, 8]}}
  %w, %s = nova.param "w" scales <row_blocks = 4> sharding <@mesh, ["model"]> local
      : tensor<16x8xi8>, tensor<4x8xbf16>
  return
}

// -----

func.func @no_spec() {
  // expected-error @+1 {{expected a 'sharding' on a local parameter shard, got none}}
  %w = nova.param "w" local : tensor<16x8xf32>
  return
}
