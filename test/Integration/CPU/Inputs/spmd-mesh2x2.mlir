// One rank's program on a 2x2 mesh: collectives over each axis (split
// communicators), over the whole mesh in mesh order (the world itself) and
// in the other order (a split whose rank order is model-major), and the
// shard indices that name a rank's place in each group.
nova.mesh @mesh ["data" = 2, "model" = 2]

func.func @groups(%x: tensor<3xi32> {nova.name = "x"},
                  %comm: i32 {nova.communicator})
    -> (tensor<3xi32> {nova.name = "model_sum"},
        tensor<3xi32> {nova.name = "data_sum"},
        tensor<3xi32> {nova.name = "mesh_sum"},
        tensor<6xi32> {nova.name = "data_gather"},
        tensor<12xi32> {nova.name = "transposed_gather"},
        tensor<3xi32> {nova.name = "index"}) {
  %cm = nova.group_comm %comm over @mesh ["model"] : i32
  %sm = nova.all_reduce %x, %cm over @mesh ["model"] : tensor<3xi32> -> tensor<3xi32>
  nova.comm_free %cm : i32
  %cd = nova.group_comm %comm over @mesh ["data"] : i32
  %sd = nova.all_reduce %x, %cd over @mesh ["data"] : tensor<3xi32> -> tensor<3xi32>
  %gd = nova.all_gather %x, %cd over @mesh ["data"] dim 0 : tensor<3xi32> -> tensor<6xi32>
  nova.comm_free %cd : i32
  %cw = nova.group_comm %comm over @mesh ["data", "model"] : i32
  %sw = nova.all_reduce %x, %cw over @mesh ["data", "model"] : tensor<3xi32> -> tensor<3xi32>
  nova.comm_free %cw : i32
  %ct = nova.group_comm %comm over @mesh ["model", "data"] : i32
  %gt = nova.all_gather %x, %ct over @mesh ["model", "data"] dim 0 : tensor<3xi32> -> tensor<12xi32>
  nova.comm_free %ct : i32
  %im = nova.shard_index %comm over @mesh ["model"] : index
  %id = nova.shard_index %comm over @mesh ["data"] : index
  %it = nova.shard_index %comm over @mesh ["model", "data"] : index
  %im32 = arith.index_cast %im : index to i32
  %id32 = arith.index_cast %id : index to i32
  %it32 = arith.index_cast %it : index to i32
  %index = tensor.from_elements %im32, %id32, %it32 : tensor<3xi32>
  return %sm, %sd, %sw, %gd, %gt, %index
      : tensor<3xi32>, tensor<3xi32>, tensor<3xi32>, tensor<6xi32>, tensor<12xi32>, tensor<3xi32>
}
