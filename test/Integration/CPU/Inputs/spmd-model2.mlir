// One rank's program of a 2-device SPMD module, as nova-spmd-partition
// writes it: parameters typed as their shards, the mesh communicator as the
// entries' last argument, collectives over the "model" axis.
nova.mesh @mesh ["model" = 2]

// A column-parallel matmul (w1 split along N) feeding a row-parallel one (w2
// split along K): each rank holds a partial y, the all-reduce sums them.
func.func @mlp(%x: tensor<4x16xf32> {nova.name = "x"},
               %comm: i32 {nova.communicator})
    -> (tensor<4x16xf32> {nova.name = "y"}) {
  %w1 = nova.param "mlp/w1" sharding <@mesh, [None, "model"]> : tensor<16x8xf32>
  %w2 = nova.param "mlp/w2" sharding <@mesh, ["model", None]> : tensor<8x16xf32>
  %h = nova.matmul %x, %w1 : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  %a = nova.silu %h : tensor<4x8xf32>
  %p = nova.matmul %a, %w2 : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  %c = nova.group_comm %comm over @mesh ["model"] : i32
  %y = nova.all_reduce %p, %c over @mesh ["model"] : tensor<4x16xf32> -> tensor<4x16xf32>
  nova.comm_free %c : i32
  return %y : tensor<4x16xf32>
}

// All-gathers along an inner dimension (re-laid out from a shard-major
// temporary) and along the outermost one (straight into the output), and
// this rank's shard index.
func.func @gather(%x: tensor<2x3xbf16> {nova.name = "x"},
                  %comm: i32 {nova.communicator})
    -> (tensor<2x6xbf16> {nova.name = "cols"},
        tensor<4x3xbf16> {nova.name = "rows"},
        tensor<1xi32> {nova.name = "index"}) {
  %c = nova.group_comm %comm over @mesh ["model"] : i32
  %cols = nova.all_gather %x, %c over @mesh ["model"] dim 1 : tensor<2x3xbf16> -> tensor<2x6xbf16>
  %rows = nova.all_gather %x, %c over @mesh ["model"] dim 0 : tensor<2x3xbf16> -> tensor<4x3xbf16>
  nova.comm_free %c : i32
  %i = nova.shard_index %comm over @mesh ["model"] : index
  %i32 = arith.index_cast %i : index to i32
  %index = tensor.from_elements %i32 : tensor<1xi32>
  return %cols, %rows, %index : tensor<2x6xbf16>, tensor<4x3xbf16>, tensor<1xi32>
}
